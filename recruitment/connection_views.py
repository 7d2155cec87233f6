"""Workspace settings → "User Interviews" (SPEC W7): the workspace's own API key, "Test
connection", the webhook subscription, "Rotate secret" and the last deliveries. Admins only;
each button is a plain form post that redirects back (no JavaScript needed)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rally.permissions import Permission
from rally.selectors import require_permission
from recruitment import connections
from recruitment.models import UIConnection
from recruitment.user_interviews import errors


class ApiKeyForm(forms.Form):
    api_key = forms.CharField(
        label="API key", strip=True, max_length=connections.API_KEY_MAX_LENGTH,
        help_text="From your User Interviews account's API settings. Stored encrypted; "
                  "never shown again after saving.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}))


@login_required
@require_http_methods(["GET", "POST"])
def connection(request):
    membership = require_permission(request.membership, Permission.MANAGE_WORKSPACE)
    workspace = membership.workspace
    form = ApiKeyForm()
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                connections.ui_connection_save(by=membership,
                                               api_key=form.cleaned_data["api_key"])
            except ValidationError as error:
                form.add_error("api_key", error.message_dict.get("api_key", error.messages))
            else:
                messages.success(request, "API key saved. Test the connection next.")
                return redirect("recruitment:connection")
    saved = UIConnection.objects.filter(workspace=workspace).first()
    endpoint = connections.webhook_endpoint_for(workspace)
    deliveries = (connections.webhook_deliveries_recent(workspace=workspace)
                  if endpoint is not None else [])
    return render(request, "recruitment/connection.html", {
        "form": form, "saved": saved, "endpoint": endpoint, "deliveries": deliveries,
        "webhook_url": connections.webhook_url_for(workspace),
        "dev_default_key": bool(settings.UI_API_KEY),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def connection_test(request):
    membership = require_permission(request.membership, Permission.MANAGE_WORKSPACE)
    try:
        result = connections.ui_connection_test(by=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("recruitment:connection")


def _ui_failure(request, what, error):
    if isinstance(error, errors.NotConnected):
        messages.error(request, "Save and test an API key first.")
    elif isinstance(error, errors.AuthError):
        messages.error(request, f"{what}: User Interviews refused the API key.")
    else:
        messages.error(request, f"{what}: User Interviews could not be reached ({error}). "
                                "Nothing changed; try again.")


@login_required
@require_POST
def webhooks_subscribe(request):
    membership = require_permission(request.membership, Permission.MANAGE_WORKSPACE)
    try:
        endpoint = connections.webhook_subscribe(by=membership)
    except errors.UIError as error:
        _ui_failure(request, "Could not subscribe", error)
    else:
        messages.success(request, f"Webhooks subscribed: User Interviews delivers to "
                                  f"{endpoint.url}.")
    return redirect("recruitment:connection")


@login_required
@require_POST
def webhook_secret_rotate(request):
    membership = require_permission(request.membership, Permission.MANAGE_WORKSPACE)
    try:
        connections.webhook_secret_rotate(by=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except errors.UIError as error:
        _ui_failure(request, "Could not rotate the secret", error)
    else:
        messages.success(request, "Secret rotated. Deliveries signed with the previous "
                                  "secret are still accepted until the next rotation.")
    return redirect("recruitment:connection")

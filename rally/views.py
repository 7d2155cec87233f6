"""Core pages: sign-in, the dashboard, the workspace switcher, members and health."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from rally import health, services
from rally.exports import csv_response
from rally.forms import (
    LoginForm,
    MemberInviteForm,
    MemberRoleForm,
    WorkspaceNameForm,
)
from rally.http import safe_url
from rally.models import ActivityEntry
from rally.permissions import Permission
from rally.selectors import (
    get_membership_for_user,
    memberships_for_user,
    require_permission,
    workspace_members,
)

GENERIC_LOGIN_ERROR = "Your email and password didn't match. Please try again."


def _client_address(request):
    return request.META.get("REMOTE_ADDR", "")


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Password reset, throttled per account and per address. Over the limit the page
    reads exactly as when an email went out (it never tells whether an account exists),
    but no email is sent."""

    def form_valid(self, form):
        if not services.password_reset_allowed(email=form.cleaned_data["email"],
                                               address=_client_address(self.request)):
            return redirect(self.get_success_url())
        return super().form_valid(form)


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request.POST or None)
    error = None
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        address = _client_address(request)
        wait = services.login_attempt_begin(email=email, address=address)
        if wait:
            error = services.login_wait_message(wait)
        else:
            user = authenticate(request, email=email, password=form.cleaned_data["password"])
            if user is None:
                services.login_failure_record(email=email, address=address)
                error = GENERIC_LOGIN_ERROR
            else:
                services.login_failures_clear(email=email)
                login(request, user)
                return redirect(safe_url(request, next_url, reverse("home")))
    elif request.method == "POST":
        error = GENERIC_LOGIN_ERROR
    status = 200 if error is None else 400
    return render(request, "registration/login.html",
                  {"form": form, "error": error, "next": next_url,
                   "signup_enabled": settings.SIGNUP_ENABLED}, status=status)


@login_required
@require_POST
def workspace_switch(request):
    wanted = request.POST.get("workspace", "")
    if not any(str(m.workspace_id) == wanted for m in memberships_for_user(request.user)):
        raise Http404
    request.session["workspace_id"] = wanted
    if request.htmx:  # the switcher asks on change: the whole page moves to the workspace
        return HttpResponseClientRedirect(reverse("home"))
    return redirect("home")


@login_required
def workspace_settings(request):
    membership = require_permission(request.membership, Permission.MANAGE_MEMBERS)
    form = MemberInviteForm()
    if request.method == "POST":
        form = MemberInviteForm(request.POST)
        if form.is_valid():
            try:
                member, created = services.member_invite(
                    by=membership, email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"])
            except ValidationError as error:
                form.add_error("email", error.message_dict.get("email", error.messages))
            else:
                if created:
                    transaction.on_commit(
                        lambda: _send_account_setup_email(request, member.user))
                messages.success(request, f"{member.user.email} was added as "
                                          f"{member.get_role_display()}.")
                return redirect("workspace_settings")
    return render(request, "rally/workspace_settings.html", {
        "members": workspace_members(membership.workspace),
        "form": form,
        "role_form": MemberRoleForm,
        "name_form": WorkspaceNameForm(initial={"name": membership.workspace.name}),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def workspace_rename(request):
    membership = require_permission(request.membership, Permission.MANAGE_WORKSPACE)
    form = WorkspaceNameForm(request.POST)
    if form.is_valid():
        try:
            workspace = services.workspace_rename(by=membership, name=form.cleaned_data["name"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The workspace is now called {workspace.name}.")
    else:
        messages.error(request, "Enter the workspace's name (at most 120 characters).")
    return redirect("workspace_settings")


@login_required
def activity_csv(request):
    """The workspace's whole activity log as CSV (who, when, what). Admins and Ops Managers:
    entries name amounts."""
    membership = require_permission(request.membership, Permission.READ_ALL_BUDGETS)
    entries = (ActivityEntry.objects.filter(workspace=membership.workspace)
               .order_by("created_at", "id"))
    rows = ([entry.created_at.isoformat(), entry.actor_display, entry.action, entry.summary,
             entry.study_id or "", entry.pk]
            for entry in entries.iterator(chunk_size=500))
    return csv_response(filename="activity.csv", rows=rows, header=[
        "Time (UTC)", "By", "Action", "What happened", "Study ID", "Entry ID"])


def _send_account_setup_email(request, user):
    """A new member chooses a password through a one-time link (Django's reset tokens)."""
    context = {
        "email": user.email,
        "workspace": request.membership.workspace,
        "link": request.build_absolute_uri(reverse("password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user)})),
    }
    send_mail(
        subject=f"You've been added to {context['workspace'].name} on Rally",
        message=render_to_string("registration/account_setup_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


@login_required
@require_POST
def member_change_role(request, membership_id):
    membership = request.membership
    target = get_membership_for_user(membership, membership_id,
                                     permission=Permission.MANAGE_MEMBERS)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("workspace_settings")
    try:
        services.member_change_role(by=membership, membership=target,
                                    role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{target.user.email} is now {target.get_role_display()}.")
    return redirect("workspace_settings")


@login_required
@require_POST
def member_remove(request, membership_id):
    membership = request.membership
    target = get_membership_for_user(membership, membership_id,
                                     permission=Permission.MANAGE_MEMBERS)
    try:
        services.member_remove(by=membership, membership=target)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{target.user.email} was removed from the workspace.")
    return redirect("workspace_settings")


def healthz(request):
    """Liveness: the process answers (no dependency is asked; /readyz does that)."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: database, broker, a worker and beat seen within the last minute, and the
    outbox not falling behind. 503 with the failing checks named when any is not ok."""
    ready, checks = health.readiness()
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks},
                        status=200 if ready else 503)


def error_400(request, exception=None):
    return render(request, "400.html", status=400)


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


FALLBACK_500 = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>Something went wrong on our side</title></head><body><main>"
                "<h1>Something went wrong on our side</h1><p>We've logged the problem. Try "
                "again in a moment; nothing you saved was lost.</p><p><a href=\"/\">Back to "
                "Rally</a></p></main></body></html>")


def error_500(request):
    # No request context: whatever broke (the database, say) must not break this page too.
    # Nor may the page itself fail (a static file missing from the manifest, a template
    # error): then it is plain HTML with no static files at all.
    try:
        return HttpResponseServerError(render_to_string("500.html"))
    except Exception:
        logging.getLogger(__name__).exception("the 500 page failed to render")
        return HttpResponseServerError(FALLBACK_500)

"""Account settings (SPEC W6): name, time zone, password, notification preferences."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from rally import notifications
from rally.forms import NotificationPreferencesForm, ProfileForm
from rally.services import account_profile_update
from rally.timezones import zone_choices


def _password_form(user, data=None):
    form = PasswordChangeForm(user, data)
    # Django focuses the current password; on a page of four sections that steals the
    # reader's place.
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    form.fields["old_password"].label = "Current password"
    return form


def _page(request, *, profile=None, password=None, preferences=None, status=200):
    user = request.user
    return render(request, "rally/account_settings.html", {
        "profile_form": profile or ProfileForm(initial={"name": user.name,
                                                        "time_zone": user.time_zone}),
        "password_form": password or _password_form(user),
        "preferences_form": preferences or NotificationPreferencesForm(
            initial_choices=notifications.preferences_for(user)),
        "zone_groups": zone_choices(),
    }, status=status)


@login_required
@require_http_methods(["GET"])
def account_settings(request):
    return _page(request)


@login_required
@require_http_methods(["POST"])
def account_profile(request):
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _page(request, profile=form, status=400)
    account_profile_update(user=request.user, name=form.cleaned_data["name"],
                           time_zone=form.cleaned_data["time_zone"])
    messages.success(request, "Your name and time zone were saved.")
    return redirect("account_settings")


@login_required
@require_http_methods(["POST"])
def account_password(request):
    form = _password_form(request.user, request.POST)
    if not form.is_valid():
        return _page(request, password=form, status=400)
    form.save()
    update_session_auth_hash(request, form.user)  # stay signed in on this device
    messages.success(request, "Your password was changed.")
    return redirect("account_settings")


@login_required
@require_http_methods(["POST"])
def account_notifications(request):
    form = NotificationPreferencesForm(request.POST)
    if not form.is_valid():
        return _page(request, preferences=form, status=400)
    notifications.preferences_save(user=request.user, choices=form.cleaned_data)
    messages.success(request, "Your notification preferences were saved.")
    return redirect("account_settings")

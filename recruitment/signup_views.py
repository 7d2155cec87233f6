"""Signing up: a new workspace and its first Admin (`workflows.workspace_create`)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rally.forms import SignUpForm
from recruitment import workflows


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    """A new workspace and its first Admin, when the operator turned sign-up on."""
    if not settings.SIGNUP_ENABLED:
        raise Http404
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = workflows.workspace_create(
                name=data["workspace"], admin_email=data["email"], admin_name=data["name"],
                password=data["password"])
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            login(request, membership.user,
                  backend="django.contrib.auth.backends.ModelBackend")
            request.session["workspace_id"] = str(membership.workspace_id)
            messages.success(request, f"Welcome to Rally. {membership.workspace.name} is "
                                      "ready: connect User Interviews in Workspace settings.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form},
                  status=400 if form.errors else 200)

"""Workspaces onboard themselves (SPEC W7): the create_workspace command and its sign-in
link, the optional sign-up page, and Admins renaming their workspace."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from billing.models import Budget
from billing.services import DEFAULT_BUDGET_NAME
from rally.models import ActivityEntry, Membership, User, Workspace

pytestmark = pytest.mark.django_db


def _create(*args):
    out = io.StringIO()
    call_command("create_workspace", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_workspace_prints_a_link_where_the_admin_sets_a_password(client, settings):
    settings.RALLY_BASE_URL = "https://rally.example.org"
    lines = _create("Beta Labs", "--admin", "Dana@Beta.example")
    membership = Membership.objects.get(workspace__name="Beta Labs")
    assert (membership.user.email, membership.role) == ("dana@beta.example", "admin")
    assert not membership.user.has_usable_password()
    link = lines[-1]
    assert link.startswith("https://rally.example.org/password-reset/")
    # The link is Django's one-time token: it leads to the set-password form, which works.
    form_url = client.get(link.removeprefix("https://rally.example.org")).url
    response = client.post(form_url, {"new_password1": "a-long-new-passphrase",
                                      "new_password2": "a-long-new-passphrase"})
    assert response.status_code == 302
    assert client.login(email="dana@beta.example", password="a-long-new-passphrase")
    assert ActivityEntry.objects.filter(workspace=membership.workspace,
                                        action="workspace.created").count() == 1
    assert Budget.objects.filter(workspace=membership.workspace,
                                 name=DEFAULT_BUDGET_NAME).count() == 1  # SPEC B3


def test_create_workspace_adds_an_existing_person_and_refuses_bad_input(admin):
    _create("Second Team", "--admin", admin.user.email)
    assert Membership.objects.filter(user=admin.user).count() == 2
    assert User.objects.filter(email=admin.user.email).count() == 1
    for args in (["   ", "--admin", "x@example.com"], ["Team", "--admin", "not-an-email"]):
        with pytest.raises(CommandError):
            _create(*args)
    assert Workspace.objects.count() == 2


def test_sign_up_is_off_unless_the_operator_turns_it_on(client, settings):
    settings.SIGNUP_ENABLED = False
    assert client.get(reverse("signup")).status_code == 404
    assert "Create a workspace" not in client.get(reverse("login")).content.decode()


def test_sign_up_makes_a_workspace_with_its_first_admin_signed_in(client, settings):
    settings.SIGNUP_ENABLED = True
    assert "Create a workspace" in client.get(reverse("login")).content.decode()
    response = client.post(reverse("signup"), {
        "workspace": "Gamma Research", "name": "Gale", "email": "gale@gamma.example",
        "password": "correct-horse-battery"})
    assert response.status_code == 302
    membership = Membership.objects.get(workspace__name="Gamma Research")
    assert (membership.user.email, membership.role) == ("gale@gamma.example", "admin")
    home = client.get(reverse("home"))
    assert home.status_code == 200 and "Gamma Research" in home.content.decode()
    assert list(Budget.objects.filter(workspace=membership.workspace)
                .values_list("name", flat=True)) == [DEFAULT_BUDGET_NAME]


def test_sign_up_refuses_a_taken_email_and_a_weak_password_changing_nothing(
        client, settings, admin):
    settings.SIGNUP_ENABLED = True
    for email, password, message in (
            (admin.user.email, "correct-horse-battery", "already an account"),
            ("new@gamma.example", "password", "too common")):
        response = client.post(reverse("signup"), {"workspace": "Gamma", "email": email,
                                                   "password": password})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Workspace.objects.filter(name="Gamma").exists()


def test_an_admin_renames_the_workspace_and_the_log_keeps_the_old_name(admin, client_for):
    response = client_for(admin).post(reverse("workspace_rename"), {"name": "  Acme  Labs "})
    assert response.status_code == 302
    admin.workspace.refresh_from_db()
    assert admin.workspace.name == "Acme Labs"
    entry = ActivityEntry.objects.get(action="workspace.renamed")
    assert entry.data == {"from": "Acme Research", "to": "Acme Labs"}


@pytest.mark.parametrize("persona", ["ops_manager", "researcher", "observer"])
def test_only_admins_rename(persona, request, client_for, workspace):
    membership = request.getfixturevalue(persona)
    response = client_for(membership).post(reverse("workspace_rename"), {"name": "Taken"})
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.name == "Acme Research"


def test_a_blank_name_is_refused(admin, client_for):
    response = client_for(admin).post(reverse("workspace_rename"), {"name": "  "},
                                      follow=True)
    assert "Enter the workspace" in response.content.decode()
    admin.workspace.refresh_from_db()
    assert admin.workspace.name == "Acme Research"

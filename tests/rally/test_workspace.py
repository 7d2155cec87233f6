import pytest
from django.core import mail
from django.urls import reverse

from rally.models import ActivityEntry, Membership
from tests.rally.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["ops_manager", "researcher", "observer"])
def test_workspace_settings_is_admin_only(client_for, personas, persona):
    client = client_for(personas[persona])
    assert client.get(reverse("workspace_settings")).status_code == 403
    response = client.post(reverse("workspace_settings"),
                           {"email": "new@acme.test", "role": "observer"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user__email="new@acme.test").exists()


def test_admin_invites_a_new_member_who_gets_a_setup_link(client_for, admin,
                                                          django_capture_on_commit_callbacks):
    client = client_for(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workspace_settings"),
                               {"email": "New.Person@acme.test", "role": "researcher"})
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new.person@acme.test")
    assert membership.role == "researcher" and membership.workspace == admin.workspace
    assert len(mail.outbox) == 1 and "/password-reset/" in mail.outbox[0].body
    assert ActivityEntry.objects.filter(action="member.invited").count() == 1


def test_inviting_an_existing_member_says_so_and_changes_nothing(client_for, admin, researcher):
    client = client_for(admin)
    response = client.post(reverse("workspace_settings"),
                           {"email": researcher.user.email, "role": "observer"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    researcher.refresh_from_db()
    assert researcher.role == "researcher"


def test_bad_role_is_refused(client_for, admin):
    response = client_for(admin).post(reverse("workspace_settings"),
                                      {"email": "x@acme.test", "role": "owner"})
    assert response.status_code == 400
    assert not Membership.objects.filter(user__email="x@acme.test").exists()


def test_admin_changes_a_role_and_removes_a_member(client_for, admin, researcher):
    client = client_for(admin)
    client.post(reverse("member_change_role", args=[researcher.id]), {"role": "observer"})
    researcher.refresh_from_db()
    assert researcher.role == "observer"
    client.post(reverse("member_remove", args=[researcher.id]))
    assert not Membership.objects.filter(pk=researcher.pk).exists()


def test_the_last_admin_cannot_be_demoted_or_removed(client_for, admin):
    client = client_for(admin)
    client.post(reverse("member_change_role", args=[admin.id]), {"role": "observer"})
    client.post(reverse("member_remove", args=[admin.id]))
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_another_workspaces_member_is_404(client_for, admin, outsider):
    client = client_for(admin)
    assert client.post(reverse("member_change_role", args=[outsider.id]),
                       {"role": "observer"}).status_code == 404
    assert client.post(reverse("member_remove", args=[outsider.id])).status_code == 404
    outsider.refresh_from_db()
    assert outsider.role == "admin"


def test_members_page_lists_only_this_workspace(client_for, admin, researcher, outsider):
    page = client_for(admin).get(reverse("workspace_settings")).content.decode()
    assert researcher.user.email in page
    assert outsider.user.email not in page


def test_switcher_changes_workspace_only_to_ones_you_belong_to(client_for, admin, outsider):
    second = MembershipFactory(user=admin.user, workspace=outsider.workspace, role="observer")
    client = client_for(admin)
    client.post(reverse("workspace_switch"), {"workspace": str(second.workspace_id)})
    assert "Globex Insights" in client.get(reverse("home")).content.decode()
    other = MembershipFactory(role="admin")
    response = client.post(reverse("workspace_switch"), {"workspace": str(other.workspace_id)})
    assert response.status_code == 404


def test_activity_entries_are_append_only(admin):
    from django.db import IntegrityError, transaction

    from rally.services import activity_record

    entry = activity_record(workspace=admin.workspace, actor=admin.user, action="test.done",
                            summary="Did a test")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityEntry.objects.filter(pk=entry.pk).delete()


def test_machine_actors_read_as_words(admin):
    from rally.services import activity_record

    by_webhook = activity_record(workspace=admin.workspace, action="x.y", summary="s",
                                 actor_label="webhook:evt_123")
    by_task = activity_record(workspace=admin.workspace, action="x.y", summary="s",
                              actor_label="task:outbox:launch_recruit")
    by_person = activity_record(workspace=admin.workspace, action="x.y", summary="s",
                                actor=admin.user)
    assert by_webhook.actor_display == "User Interviews"
    assert by_task.actor_display == "Rally (automatic)"
    assert by_person.actor_display == admin.user.display_name


def test_a_summary_longer_than_its_column_is_shortened_not_refused(admin):
    """Summaries name what changed (team members, long study names): a long one is cut with
    an ellipsis; the change itself stays whole in `data`."""
    from rally.services import activity_record

    long = "Updated the plan; Team: added " + ", ".join(f"Member {n}" for n in range(80))
    entry = activity_record(workspace=admin.workspace, actor=admin.user, action="study.updated",
                            summary=long, data={"team": list(range(80))})
    entry.refresh_from_db()
    assert len(entry.summary) == 300
    assert entry.summary.endswith("…")
    assert long.startswith(entry.summary[:-1])
    assert entry.data["team"] == list(range(80))

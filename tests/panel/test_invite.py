"""Inviting panel people: governance rules and overrides, opt-outs, the email, the roles."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from panel import services
from panel.models import PanelInvitation, PanelRules
from participants.directory import contact_record
from participants.models import Contact
from rally import clock
from rally.models import ActivityEntry
from tests.panel.factories import PanelStudyFactory

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def invite(committed):
    """invite(membership, study, people, **options): panel_invite, emails sent after commit."""

    def run(membership, study, people, **kwargs):
        return committed(services.panel_invite, membership=membership, study=study,
                         participant_ids=[p.pk for p in people], **kwargs)

    return run


def _contacted(person, days_ago, study=None):
    contact = contact_record(participant=person, study=study, kind="invitation",
                             subject="Earlier study", sent_by=None)
    Contact.objects.filter(pk=contact.pk).update(sent_at=clock.now() - timedelta(days=days_ago))


def test_invite_sends_one_email_per_person_with_study_links_and_unsubscribe(
        invite, researcher, study, person):
    ana, ben = person(first_name="Ana", email="ana@panel.test"), person(first_name="Ben")
    result = invite(researcher, study, [ana, ben])
    assert len(result.invited) == 2
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == ["ana@panel.test"])
    assert study.participant_title in message.subject
    assert study.external_description in message.body
    assert "/p/s/" in message.body and "/p/unsubscribe/" in message.body
    assert "List-Unsubscribe" in message.extra_headers
    html = message.alternatives[0][0]
    assert "/p/s/" in html and "Unsubscribe" in html
    assert PanelInvitation.objects.filter(study=study, email_sent_at__isnull=False).count() == 2
    assert Contact.objects.filter(study=study, kind="invitation").count() == 2
    assert ActivityEntry.objects.filter(action="panel.invited", study_id=study.id).exists()


def test_inviting_twice_invites_once(invite, researcher, study, person):
    ana = person()
    invite(researcher, study, [ana])
    with pytest.raises(ValidationError, match="Already invited"):
        invite(researcher, study, [ana])
    assert PanelInvitation.objects.filter(study=study).count() == 1
    assert len(mail.outbox) == 1


def test_opted_out_people_are_never_invited_even_with_an_override(invite, admin, study, person):
    gone = person(opted_out_at=clock.now())
    here = person()
    result = invite(admin, study, [gone, here], override=True, override_reason="Urgent")
    assert [i.participant_id for i in result.invited] == [here.pk]
    assert result.skipped == [(gone.display_name, ["Opted out"])]
    with pytest.raises(ValidationError, match="Opted out"):
        invite(admin, study, [gone], override=True, override_reason="Urgent")
    assert [m.to for m in mail.outbox] == [[here.email]]


def test_recently_contacted_people_are_skipped_without_an_override(invite, researcher, study,
                                                                  person):
    recent, fresh = person(), person()
    _contacted(recent, days_ago=3)
    result = invite(researcher, study, [recent, fresh])
    assert [i.participant_id for i in result.invited] == [fresh.pk]
    name, reasons = result.skipped[0]
    assert name == recent.display_name and "Contacted 3 days ago" in reasons[0]


def test_study_limit_per_90_days_flags_people(invite, workspace, researcher, study, person):
    PanelRules.objects.create(workspace=workspace, recent_contact_days=None,
                              max_studies_per_90_days=2)
    busy = person()
    for days in (10, 40):
        _contacted(busy, days_ago=days, study=PanelStudyFactory(workspace=workspace,
                                                                owner=researcher.user))
    with pytest.raises(ValidationError, match="Invited to 2 studies in 90 days"):
        invite(researcher, study, [busy])
    old = person()
    _contacted(old, days_ago=100, study=PanelStudyFactory(workspace=workspace,
                                                          owner=researcher.user))
    _contacted(old, days_ago=95, study=PanelStudyFactory(workspace=workspace,
                                                         owner=researcher.user))
    assert len(invite(researcher, study, [old]).invited) == 1


@pytest.mark.parametrize("role", ["admin", "ops_manager"])
def test_admins_and_ops_managers_override_with_a_reason_logged(invite, role, personas, study,
                                                               person):
    flagged = person()
    _contacted(flagged, days_ago=1)
    result = invite(personas[role], study, [flagged], override=True,
                     override_reason="Key customer asked to join")
    assert len(result.invited) == 1
    contact = Contact.objects.get(study=study, participant=flagged)
    assert contact.override_reason == "Key customer asked to join"
    assert result.invited[0].override_reason == "Key customer asked to join"
    entry = ActivityEntry.objects.get(action="panel.governance_overridden")
    assert entry.data["reason"] == "Key customer asked to join"
    assert entry.actor == personas[role].user


def test_override_needs_a_reason(invite, admin, study, person):
    flagged = person()
    _contacted(flagged, days_ago=1)
    with pytest.raises(ValidationError) as error:
        invite(admin, study, [flagged], override=True, override_reason="   ")
    assert "override_reason" in error.value.message_dict
    assert not PanelInvitation.objects.exists()


def test_researchers_cannot_override(invite, researcher, study, person):
    flagged = person()
    _contacted(flagged, days_ago=1)
    with pytest.raises(PermissionDenied):
        invite(researcher, study, [flagged], override=True, override_reason="Please")
    assert not PanelInvitation.objects.exists()


def test_observers_and_researchers_off_the_team_cannot_invite(invite, workspace, observer,
                                                               researcher, admin, person):
    others = PanelStudyFactory(workspace=workspace, owner=admin.user)
    with pytest.raises(PermissionDenied):
        invite(observer, others, [person()])
    with pytest.raises(PermissionDenied):
        invite(researcher, others, [person()])


def test_only_active_panel_studiesinvite(invite, workspace, researcher, person):
    ui_study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                                 source="user_interviews")
    with pytest.raises(ValidationError, match="Only Rally-panel studies"):
        invite(researcher, ui_study, [person()])
    draft = PanelStudyFactory(workspace=workspace, owner=researcher.user, status="draft")
    with pytest.raises(ValidationError, match="Publish the study"):
        invite(researcher, draft, [person()])


def test_people_of_another_workspace_refuse_the_batch(invite, researcher, study, outsider):
    from tests.panel.factories import PanelPersonFactory

    stranger = PanelPersonFactory(workspace=outsider.workspace)
    with pytest.raises(ValidationError, match="not in this workspace's panel"):
        invite(researcher, study, [stranger])
    assert not PanelInvitation.objects.exists()


def test_a_lost_email_is_sent_by_the_sweeper(invite, monkeypatch, researcher, study, person):
    from panel import tasks
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)  # the broker lost it
    invite(researcher, study, [person()])
    assert mail.outbox == []
    tasks.invitation_emails_sweep()
    assert mail.outbox == []  # still within the grace period
    PanelInvitation.objects.update(created_at=clock.now() - timedelta(minutes=5))
    tasks.invitation_emails_sweep()
    tasks.invitation_emails_sweep()
    assert len(mail.outbox) == 1


# Panel rules -----------------------------------------------------------------------------


def test_only_admins_change_the_rules(admin, ops_manager):
    with pytest.raises(PermissionDenied):
        services.panel_rules_update(membership=ops_manager, recent_contact_days="7",
                                    max_studies_per_90_days="")
    rules = services.panel_rules_update(membership=admin, recent_contact_days="7",
                                        max_studies_per_90_days="")
    assert (rules.recent_contact_days, rules.max_studies_per_90_days) == (7, None)
    assert ActivityEntry.objects.filter(action="panel.rules_changed").count() == 1


@pytest.mark.parametrize("days", ["0", "-3", "abc", "366", "1.5", "²", "١٠", "1e1", "1_0"])
def test_bad_rule_values_change_nothing(admin, days):
    with pytest.raises(ValidationError) as error:
        services.panel_rules_update(membership=admin, recent_contact_days=days,
                                    max_studies_per_90_days="3")
    assert "recent_contact_days" in error.value.message_dict
    assert not PanelRules.objects.exists()


def test_rules_page_by_role(client_for, admin, observer):
    url = reverse("panel:rules")
    response = client_for(observer).get(url)
    assert response.status_code == 200 and b"Only Admins change" in response.content
    assert client_for(observer).post(url, {"recent_contact_days": "5"}).status_code == 403
    response = client_for(admin).post(url, {"recent_contact_days": "0",
                                            "max_studies_per_90_days": ""})
    assert response.status_code == 400 and b"from 1 to 365" in response.content
    response = client_for(admin).post(url, {"recent_contact_days": "21",
                                            "max_studies_per_90_days": "4"})
    assert response.status_code == 302
    assert PanelRules.objects.get().recent_contact_days == 21


def test_an_email_the_server_refuses_is_retried_then_shown_as_failed(
        monkeypatch, client_for, researcher, study, person):
    from django.core.mail import EmailMultiAlternatives

    from panel import tasks
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    services.panel_invite(membership=researcher, study=study, participant_ids=[person().pk])

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    PanelInvitation.objects.update(created_at=clock.now() - timedelta(minutes=5))
    for _ in range(7):
        tasks.invitation_emails_sweep()
    invitation = PanelInvitation.objects.get()
    assert invitation.email_attempts == 5 and invitation.email_failed
    assert "mail server down" in invitation.email_error
    page = client_for(researcher).get(reverse("panel:study_invite",
                                              kwargs={"study_id": study.id}))
    assert "1 email failed" in page.content.decode()


def test_a_bigger_batch_takes_no_more_queries(researcher, workspace, person):
    counts = []
    for size in (2, 6):
        study = PanelStudyFactory(workspace=workspace, owner=researcher.user)
        people = [person() for _ in range(size)]
        with CaptureQueriesContext(connection) as queries:
            result = services.panel_invite(membership=researcher, study=study,
                                           participant_ids=[p.pk for p in people])
        assert len(result.invited) == size
        assert Contact.objects.filter(study=study, kind="invitation").count() == size
        counts.append(len(queries))
    assert counts[0] == counts[1]

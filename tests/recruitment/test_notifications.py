"""N1's events around recruitment, each through the real services (and the sandbox for what
User Interviews does): the right people, and only they, hear of it in the app and by email."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from billing.services import FundsShortError
from rally import clock, notifications
from rally.models import ActivityEntry, Notification, NotificationKind, OutboxOperation
from recruitment import orchestration, outbox, sync, sync_health
from recruitment.models import Recruitment
from studies.services import characteristics_replace
from tests.billing.factories import BudgetFactory, funds_add
from tests.rally.factories import MembershipFactory, UserFactory
from tests.recruitment.start_support import startable_study
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.studies.factories import CATALOG

pytestmark = pytest.mark.django_db

Kind = NotificationKind


@pytest.fixture
def catalog(db):
    # The sandbox knows UI's own characteristic ids.
    characteristics_replace(items=[*CATALOG, {
        "slug": "job_function", "name": "Job function", "category": "professional",
        "type": "single_select", "audience_types": ["b2b"], "range": None,
        "choices": [{"id": "engineering", "label": "Engineering"}]}])


@pytest.fixture
def budget(workspace, admin):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "2000.00", "PO-2000")
    return budget


@pytest.fixture
def off_team_ops(workspace):
    return MembershipFactory(workspace=workspace, role="ops_manager",
                             user=UserFactory(email="omar@acme.test", name="Omar Off-team"))


@pytest.fixture
def study(workspace, researcher, ops_manager, observer, catalog):
    """Owned by the researcher; the Ops Manager and the Observer on its team."""
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    study.criteria = [{"characteristic": "job_function", "values": ["engineering"]}]
    study.save()
    study.team.add(observer.user)
    return study


def _told(kind):
    return sorted(Notification.objects.filter(kind=kind)
                  .values_list("recipient__email", flat=True))


def _emailed():
    notifications.notification_emails_send_due()
    return sorted(address for message in mail.outbox if message.subject.startswith("Rally:")
                  for address in message.to)


# Request start ----------------------------------------------------------------------------


def test_request_start_tells_the_admins_and_the_teams_ops_managers_only(
        study, researcher, admin, ops_manager, off_team_ops, outsider, client_for):
    client = client_for(researcher)
    overview = reverse("studies:study_overview", args=[study.id])
    page = client.get(overview).content.decode()
    assert "Request start" in page
    response = client.post(reverse("recruitment:request_start", args=[study.id]))
    assert response.status_code == 302
    assert _told(Kind.START_REQUESTED) == ["avery@acme.test", "olivia@acme.test"]
    assert _emailed() == ["avery@acme.test", "olivia@acme.test"]
    row = Notification.objects.get(recipient=ops_manager.user)
    assert row.headline == (f"{researcher.user.display_name} asks you to start recruitment "
                            f"for “Onboarding interviews”")
    assert row.link == overview
    assert ActivityEntry.objects.filter(action="recruitment.start_requested").count() == 1
    page = client_for(ops_manager).get(overview).content.decode()
    assert f"Requested by {researcher.user.display_name} at" in page
    assert "this study waits for you to start it" in page


def test_request_start_twice_tells_nobody_twice(study, researcher, admin):
    orchestration.recruitment_request_start(membership=researcher, study_id=study.id)
    orchestration.recruitment_request_start(membership=researcher, study_id=study.id)
    assert Notification.objects.filter(kind=Kind.START_REQUESTED).count() == 2  # two people
    assert ActivityEntry.objects.filter(action="recruitment.start_requested").count() == 1


def test_an_ops_manager_off_the_team_is_told_why_and_may_request(study, off_team_ops,
                                                                 client_for):
    page = client_for(off_team_ops).get(
        reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "You are not on this study’s team" in page and "Request start" in page


def test_who_may_not_request_a_start(study, admin, observer, outsider):
    with pytest.raises(PermissionDenied):  # an Admin starts it instead
        orchestration.recruitment_request_start(membership=admin, study_id=study.id)
    with pytest.raises(PermissionDenied):
        orchestration.recruitment_request_start(membership=observer, study_id=study.id)
    from django.http import Http404

    with pytest.raises(Http404):
        orchestration.recruitment_request_start(membership=outsider, study_id=study.id)
    assert not Notification.objects.exists()


def test_a_draft_cannot_be_requested(study, researcher):
    study.status = "draft"
    study.save()
    with pytest.raises(ValidationError):
        orchestration.recruitment_request_start(membership=researcher, study_id=study.id)
    assert not Notification.objects.exists()


def test_starting_clears_the_request(study, researcher, admin, budget):
    orchestration.recruitment_request_start(membership=researcher, study_id=study.id)
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment = Recruitment.objects.get(study=study)
    assert recruitment.start_requested_at is None and recruitment.start_requested_by is None


# Budget short -----------------------------------------------------------------------------


def test_a_budget_short_of_a_start_tells_who_can_add_funds(study, ops_manager, admin,
                                                           off_team_ops, workspace):
    poor = BudgetFactory(workspace=workspace, name="Small Budget")
    funds_add(admin, poor, "100.00", "PO-100")
    with pytest.raises(FundsShortError):
        orchestration.recruitment_start(membership=ops_manager, study_id=study.id,
                                        budget_id=poor.id)
    # The starter sees the shortfall on the page; the others with Add funds hear of it.
    assert _told(Kind.BUDGET_SHORT) == ["avery@acme.test", "omar@acme.test"]
    row = Notification.objects.filter(kind=Kind.BUDGET_SHORT).first()
    assert row.headline.startswith("Small Budget cannot cover “Onboarding interviews”")
    assert row.link == reverse("billing:budget_detail", args=[poor.id])
    assert _emailed() == ["avery@acme.test", "omar@acme.test"]
    assert not Recruitment.objects.filter(study=study, state="starting").exists()


# Launched, declined (at the sandbox) ------------------------------------------------------


def _start_at_sandbox(study, admin, budget, client):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    rows = OutboxOperation.objects.filter(study_id=study.id, status="pending")
    for row in rows.order_by("created_at", "operation"):
        outbox.outbox_execute(operation_id=row.pk, client=client)
    return Recruitment.objects.get(study=study)


def test_launched_at_ui_tells_the_team_and_the_starter(study, admin, budget, sandbox_ui,
                                                       off_team_ops):
    recruitment = _start_at_sandbox(study, admin, budget, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    assert Recruitment.objects.get(pk=recruitment.pk).state == "recruiting"
    assert _told(Kind.RECRUITMENT_LAUNCHED) == [
        "avery@acme.test", "olivia@acme.test", "oscar@acme.test", "riley@acme.test"]
    assert _emailed() == ["avery@acme.test", "olivia@acme.test", "oscar@acme.test",
                          "riley@acme.test"]
    # Polling again is no news.
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    assert Notification.objects.filter(kind=Kind.RECRUITMENT_LAUNCHED).count() == 4


def test_declined_at_ui_says_why(study, admin, budget, sandbox_ui, off_team_ops):
    recruitment = _start_at_sandbox(study, admin, budget, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "decline", "reason": "Incentive too low"})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    assert _told(Kind.RECRUITMENT_DECLINED) == [
        "avery@acme.test", "olivia@acme.test", "oscar@acme.test", "riley@acme.test"]
    row = Notification.objects.filter(kind=Kind.RECRUITMENT_DECLINED).first()
    assert row.headline == "User Interviews declined “Onboarding interviews”: Incentive too low"
    assert len(_emailed()) == 4
    assert all("Incentive too low" in message.subject for message in mail.outbox
               if message.subject.startswith("Rally:"))


def test_new_applicants_from_the_sandbox_notify_the_team_once_per_sync(
        study, admin, budget, sandbox_ui, researcher, ops_manager):
    recruitment = _start_at_sandbox(study, admin, budget, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 12, "seed": 7})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    rows = Notification.objects.filter(kind=Kind.APPLICANTS)
    # Reviewers on the team: the owner and the Ops Manager (not the Observer, not the Admin).
    assert sorted(rows.values_list("recipient__email", flat=True)) == [
        "olivia@acme.test", "riley@acme.test"]
    waiting = study.applications.filter(status="applied").count()
    assert waiting and all(row.count == waiting for row in rows)
    notifications.notification_emails_send_due()
    about_applicants = [message.to for message in mail.outbox if "applicant" in message.subject]
    assert sorted(about_applicants) == [["olivia@acme.test"], ["riley@acme.test"]]


# Sync problems ----------------------------------------------------------------------------


def test_a_sync_problem_lasting_15_minutes_is_told_once(study, admin, budget, researcher):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    synced = clock.now()
    Recruitment.objects.filter(study=study).update(ui_recruit_id="rec_1", state="recruiting",
                                                   last_synced_at=synced)
    assert sync_health.sync_problems_notify(now=synced + timedelta(minutes=14)) == 0
    assert sync_health.sync_problems_notify(now=synced + timedelta(minutes=16)) == 1
    assert sync_health.sync_problems_notify(now=synced + timedelta(minutes=30)) == 0
    # The team members who may act, and the Admins (the Observer is not told).
    assert _told(Kind.SYNC_PROBLEM) == ["avery@acme.test", "olivia@acme.test",
                                        "riley@acme.test"]
    # Over, then back: told again.
    Recruitment.objects.filter(study=study).update(last_synced_at=synced + timedelta(hours=1))
    assert sync_health.sync_problems_notify(now=synced + timedelta(hours=1, minutes=1)) == 0
    assert sync_health.sync_problems_notify(now=synced + timedelta(hours=2)) == 1
    assert Notification.objects.filter(kind=Kind.SYNC_PROBLEM).count() == 6

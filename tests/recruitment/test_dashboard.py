"""The Dashboard (SPEC N2): "Needs your attention" per person, each item a link; recent
activity once per event in a person's words; queries constant in the number of studies."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rally import clock
from rally.models import ActivityEntry
from rally.services import activity_record
from recruitment.models import Recruitment
from tests.billing.factories import PayoutFactory
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.rally.factories import OutboxOperationFactory
from tests.scheduling.factories import SessionFactory

pytestmark = pytest.mark.django_db


def _part(page, heading_id):
    """The HTML of one part of "Needs your attention" (empty when it is not shown)."""
    match = re.search(rf'<section class="attention__part" aria-labelledby="{heading_id}">'
                      rf'(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def team_study(workspace, researcher):
    return StudyFactory(workspace=workspace, owner=researcher.user, name="Team study",
                        source="user_interviews")


@pytest.fixture
def other_study(workspace, admin):
    return StudyFactory(workspace=workspace, owner=admin.user, name="Someone else's",
                        source="user_interviews")


def test_applicants_waiting_per_study_for_reviewers(client_for, researcher, admin, observer,
                                                    team_study, other_study):
    for _ in range(3):
        ApplicationFactory(study=team_study)
    ApplicationFactory(study=other_study)
    ApplicationFactory(study=team_study, status="invited")
    page = client_for(researcher).get(reverse("home")).content.decode()
    part = _part(page, "attention-applicants")
    link = reverse("participants:study_participants", args=[team_study.pk]) + "?status=applied"
    assert f'<a href="{link}">Team study</a> <span class="badge">3 waiting</span>' in part
    assert "Someone else" not in part  # a Researcher reviews their team's studies
    admin_part = _part(client_for(admin).get(reverse("home")).content.decode(),
                       "attention-applicants")
    assert "3 waiting" in admin_part and "1 waiting" in admin_part
    assert _part(client_for(observer).get(reverse("home")).content.decode(),
                 "attention-applicants") == ""


def test_sessions_today_and_this_week_in_the_readers_zone(client_for, researcher, team_study):
    researcher.user.time_zone = "Asia/Tokyo"
    researcher.user.save()
    now = clock.now()
    for starts in (now + timedelta(minutes=30), now + timedelta(days=3),
                   now + timedelta(days=9)):
        SessionFactory(application__study=team_study, host=researcher.user,
                       starts_at=starts)
    page = client_for(researcher).get(reverse("home")).content.decode()
    part = _part(page, "attention-sessions")
    assert part.count("<li>") == 2  # not the one in nine days
    assert "JST</time>" in part and "Times in Asia/Tokyo." in part
    assert reverse("scheduling:study_scheduling", args=[team_study.pk]) in part


def test_studies_waiting_to_start_with_the_request(client_for, admin, ops_manager, researcher,
                                                   team_study, other_study):
    from recruitment import orchestration

    orchestration.recruitment_request_start(membership=researcher, study_id=team_study.pk)
    part = _part(client_for(admin).get(reverse("home")).content.decode(), "attention-start")
    overview = reverse("studies:study_overview", args=[team_study.pk])
    assert f'<a href="{overview}">Team study</a>' in part
    assert f"requested by {researcher.user.display_name}" in part
    assert "Someone else" in part  # not requested, still waiting
    # An Ops Manager off the team starts nothing here; the Researcher cannot start.
    assert _part(client_for(ops_manager).get(reverse("home")).content.decode(),
                 "attention-start") == ""
    assert _part(client_for(researcher).get(reverse("home")).content.decode(),
                 "attention-start") == ""
    Recruitment.objects.filter(study=team_study).update(state="starting")
    part = _part(client_for(admin).get(reverse("home")).content.decode(), "attention-start")
    assert "Team study" not in part


def test_failed_payouts_for_who_can_retry(client_for, admin, researcher, team_study):
    now = clock.now()
    PayoutFactory(workspace=team_study.workspace, study_id=team_study.pk,
                  study_name=team_study.name, participant_label="Jordan P.",
                  amount=team_study.incentive_amount, due_at=now, state="failed")
    part = _part(client_for(admin).get(reverse("home")).content.decode(), "attention-payouts")
    assert f'{reverse("billing:payments")}?study={team_study.pk}' in part and "1 failed" in part
    assert _part(client_for(researcher).get(reverse("home")).content.decode(),
                 "attention-payouts") == ""


def test_sync_problems_link_to_the_study(client_for, researcher, team_study):
    OutboxOperationFactory(workspace=team_study.workspace, study_id=team_study.pk,
                           operation="launch_recruit", status="failed")
    part = _part(client_for(researcher).get(reverse("home")).content.decode(),
                 "attention-sync")
    assert reverse("studies:study_overview", args=[team_study.pk]) + "#sync-status" in part
    assert "An operation at User Interviews failed" in part


def test_nothing_to_do_says_so(client_for, observer):
    page = client_for(observer).get(reverse("home")).content.decode()
    assert "Nothing needs you right now." in page


def test_activity_shows_each_payment_once_in_words(client_for, admin, observer, team_study):
    session, payout = str(uuid.uuid4()), str(uuid.uuid4())
    workspace = team_study.workspace
    steps = [("payout.scheduled", "Incentive due tomorrow", "task:session_payout_schedule",
              {"payout": payout, "session": session}),
             ("billing.incentive", "Incentive charged", "task:payout_sweeper",
              {"key": f"incentive:{session}"}),
             ("payout.sending", "Sending the incentive", "task:payout_sweeper",
              {"payout": payout, "session": session}),
             ("billing.paid", "Incentive paid", "webhook:evt_8c1", {"key": f"paid:{payout}"}),
             ("payout.paid", "User Interviews paid the incentive of $100.00 to Jordan P.",
              "webhook:evt_8c1", {"payout": payout, "session": session, "ui_payment_id":
                                  "pay_123"})]
    for action, summary, label, data in steps:
        activity_record(workspace=workspace, action=action, summary=summary, actor_label=label,
                        study_id=team_study.pk, data=data)
    activity_record(workspace=workspace, action="participants.applicant_paid",
                    summary="Jordan P. was paid for the study", actor_label="webhook:evt_8c1",
                    study_id=team_study.pk, data={"application_id": str(uuid.uuid4()),
                                                  "payout": payout})
    activity_record(workspace=workspace, action="session.booked",
                    summary="Jordan P. booked a session", actor_label="participant:Jordan P.",
                    study_id=team_study.pk)
    for url in (reverse("home"), reverse("studies:study_activity", args=[team_study.pk])):
        page = client_for(admin).get(url).content.decode()
        assert page.count("User Interviews paid the incentive") == 1, url
        assert "was paid for the study" not in page  # the same payment, said once
        assert "Sending the incentive" not in page and "Incentive charged" not in page
        assert "evt_" not in page and "pay_" not in page and "participant:" not in page
        assert "<span>Jordan P.</span>" in page
    # An Observer may not read the payment: its participant's side says it without money.
    page = client_for(observer).get(reverse("home")).content.decode()
    assert "was paid for the study" in page and "$100.00" not in page


def test_dashboard_queries_do_not_grow_with_studies(client_for, admin, workspace,
                                                    django_assert_num_queries):
    client = client_for(admin)
    for _ in range(3):
        ApplicationFactory(study=StudyFactory(workspace=workspace, owner=admin.user,
                                              source="user_interviews"))
    client.get(reverse("home"))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home")).status_code == 200
        return len(captured)

    small = queries()
    for n in range(60):
        study = StudyFactory(workspace=workspace, owner=admin.user, source="user_interviews")
        ApplicationFactory(study=study)
        activity_record(workspace=workspace, action="x.y", summary=f"Entry {n}",
                        actor=admin.user, study_id=study.pk)
    with django_assert_num_queries(small):
        assert client.get(reverse("home")).status_code == 200
    assert small <= 15
    assert ActivityEntry.objects.count() >= 60

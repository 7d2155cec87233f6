"""Recruitment metrics (SPEC M1): figures computed from a generated history with known times,
the study overview's panel, and the Reports page (who sees what, filters, sorting, queries)."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.payouts import payout_send_now
from participants import services as participants
from rally import clock
from rally.services import activity_record
from recruitment import metrics
from recruitment.payments import payout_apply_ui_status
from scheduling.services import session_mark
from scheduling.unmoderated import unmoderated_completion_record
from studies.models import Status, Study, StudyType
from studies.services import study_mark_recruitment_started
from tests.billing.payouts_support import funded_ui_study
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.scheduling.factories import SessionFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch):
    """A clock the test moves by hand: `now.at(minutes=…)` sets "now" to T0 + that."""

    class Clock:
        current = T0

        def at(self, **delta):
            self.current = T0 + timedelta(**delta)
            return self.current

    moving = Clock()
    monkeypatch.setattr(clock, "now", lambda: moving.current)
    return moving


def _applicants(study, *arrivals):
    """Applicants as UI sends them: (n, applied at, unqualified?) each."""
    for n, applied, unqualified in arrivals:
        ApplicationFactory(
            study=study, ui_applicant_id=f"app-{n}",
            status="unqualified" if unqualified else "applied",
            source="direct_link" if unqualified else "user_interviews",
            qualification="unqualified" if unqualified else "manual_review",
            applied_at=applied, ui_updated_at=applied)


def _session(study, application, *, starts, minutes=60):
    return SessionFactory(application=application, starts_at=starts,
                          ends_at=starts + timedelta(minutes=minutes))


def _started(admin, now, **fields):
    """A funded User Interviews study whose recruitment started at T0."""
    now.at()
    study = funded_ui_study(admin, limit=2, **fields)
    study_mark_recruitment_started(study=study)
    activity_record(workspace=study.workspace, actor=admin.user, action="recruitment.started",
                    study_id=study.pk, summary="Started recruitment")
    return study


@pytest.fixture
def history(admin, now):
    """Start at T0; an unqualified applicant at +30 min, qualified ones at +50 and +70 min;
    two invited at +2 h and +26 h (the limit of 2: filled then); sessions booked at +5 h and
    +27 h; the first completed and paid, the second a no-show."""
    study = _started(admin, now)
    now.at(minutes=80)
    _applicants(study, (1, T0 + timedelta(minutes=30), True),
                (2, T0 + timedelta(minutes=50), False), (3, T0 + timedelta(minutes=70), False))
    first, second = (study.applications.get(ui_applicant_id=f"app-{n}") for n in (2, 3))
    now.at(hours=2)
    participants.applicant_invite(membership=admin, study=study, application_id=first.pk)
    now.at(hours=26)
    participants.applicant_invite(membership=admin, study=study, application_id=second.pk)
    now.at(hours=5)
    first_session = _session(study, first, starts=T0 + timedelta(hours=30))
    now.at(hours=27)
    second_session = _session(study, second, starts=T0 + timedelta(hours=32))
    for application in (first, second):
        application.status = "scheduled"
        application.save(update_fields=["status"])
    now.at(hours=40)
    session_mark(membership=admin, session_id=first_session.pk, status="completed")
    session_mark(membership=admin, session_id=second_session.pk, status="no_show")
    payout = payout_send_now(session_id=first_session.pk, actor=admin.user)
    payout_apply_ui_status(payout_id=payout.pk, ui_payment_id="pay_1", ui_status="paid",
                           actor="task:test")
    return study


def test_metrics_of_a_generated_history(history, now):
    [result] = metrics.study_metrics(Study.objects.filter(pk=history.pk))
    assert result.started_at == T0
    assert result.minutes_to_first_qualified == pytest.approx(50)
    assert result.hours_to_first_session == pytest.approx(5)
    assert result.filled and result.days_to_fill == pytest.approx(26 / 24)
    assert result.show_rate == pytest.approx(0.5)
    # One participant charged: the $65.00 fee and the $100.00 incentive, from the ledger.
    assert result.spent == Decimal("165.00")
    assert result.cost_per_completed == Decimal("165.00")
    assert result.funnel == {"applied": 3, "invited": 2, "scheduled": 2, "completed": 1,
                             "paid": 1}
    assert result.qualified_verdict.tone == "faster"
    assert result.qualified_verdict.text == "Faster than the median (77 minutes)."
    assert result.session_verdict.text == "Faster than the median (24 hours)."


def test_a_study_not_started_and_an_empty_study(admin, now):
    not_started = StudyFactory(workspace=admin.workspace, owner=admin.user)
    empty = _started(admin, now)
    now.at(minutes=30)
    rows = {row.study_id: row for row in metrics.study_metrics(
        Study.objects.filter(pk__in=[empty.pk, not_started.pk]))}
    assert rows[not_started.pk].started_at is None
    assert rows[not_started.pk].qualified_verdict.text == "Recruitment has not started."
    row = rows[empty.pk]
    assert (row.minutes_to_first_qualified, row.hours_to_first_session, row.days_to_fill,
            row.show_rate, row.cost_per_completed) == (None, None, None, None, None)
    assert not row.filled and row.spent == Decimal("0.00")
    assert row.funnel == {"applied": 0, "invited": 0, "scheduled": 0, "completed": 0,
                          "paid": 0}
    assert row.qualified_verdict.tone == "waiting"
    assert row.qualified_verdict.text.startswith("No qualified applicant yet — within")
    now.at(hours=30)  # past both medians with nothing yet: slower, in words
    [late] = metrics.study_metrics(Study.objects.filter(pk=empty.pk))
    assert late.qualified_verdict.tone == late.session_verdict.tone == "slower"
    assert "already slower than the median (24 hours)" in late.session_verdict.text


def test_a_partial_funnel_and_a_slow_first_applicant(admin, now):
    study = _started(admin, now)
    now.at(hours=3)
    _applicants(study, (11, T0 + timedelta(minutes=100), False),
                (12, T0 + timedelta(minutes=160), False))
    participants.applicant_invite(membership=admin, study=study,
                                  application_id=study.applications.get(
                                      ui_applicant_id="app-11").pk)
    [row] = metrics.study_metrics(Study.objects.filter(pk=study.pk))
    assert row.minutes_to_first_qualified == pytest.approx(100)
    assert row.qualified_verdict.text == "Slower than the median (77 minutes)."
    assert row.funnel == {"applied": 2, "invited": 1, "scheduled": 0, "completed": 0,
                          "paid": 0}
    assert not row.filled and row.days_to_fill is None and row.show_rate is None


def test_a_fill_from_before_the_latest_start_is_filled_not_zero_days(admin, now, client_for):
    study = _started(admin, now)
    now.at(days=1)
    activity_record(workspace=study.workspace, actor_label="webhook:evt_1",
                    action="recruitment.filled", study_id=study.pk, summary="Filled")
    now.at(days=2)
    study.recruitment_started_at = now.current  # started again after a declined start
    study.save(update_fields=["recruitment_started_at"])
    [row] = metrics.study_metrics(Study.objects.filter(pk=study.pk))
    assert row.filled and row.days_to_fill is None
    workspace = metrics.workspace_metrics([row])
    assert workspace.median_days_to_fill is None
    body = client_for(admin).get(reverse("recruitment:reports")).content.decode()
    assert "0 days" not in body and "0.0 days" not in body
    assert re.search(r"<dt>Median time to fill</dt><dd class=\"metric__value\">No study filled "
                     r"yet</dd>", body)


def test_ui_reporting_the_recruit_filled_counts_as_the_fill(admin, now):
    study = _started(admin, now)
    now.at(days=3)
    activity_record(workspace=study.workspace, actor_label="webhook:evt_1",
                    action="recruitment.filled", study_id=study.pk, summary="Filled")
    [row] = metrics.study_metrics(Study.objects.filter(pk=study.pk))
    assert row.filled and row.days_to_fill == pytest.approx(3)


def test_a_rally_panel_study_counts_from_publishing(admin, now):
    study = StudyFactory(workspace=admin.workspace, owner=admin.user, source="rally_panel",
                         published_at=T0)
    ApplicationFactory(study=study, ui_applicant_id=None, source="rally_panel",
                       applied_at=T0 + timedelta(minutes=20))
    [row] = metrics.study_metrics(Study.objects.filter(pk=study.pk))
    assert row.started_at == T0 and row.minutes_to_first_qualified == pytest.approx(20)


def test_workspace_medians_and_totals(history, admin, now):
    other = _started(admin, now)
    now.at(hours=3)
    _applicants(other, (21, T0 + timedelta(minutes=150), False))
    rows = metrics.study_metrics(Study.objects.filter(pk__in=[history.pk, other.pk]))
    workspace = metrics.workspace_metrics(rows)
    assert workspace.median_minutes_to_first_qualified == pytest.approx(100)  # of 50 and 150
    assert workspace.qualified_verdict.text == "Slower than the median (77 minutes)."
    assert workspace.median_hours_to_first_session == pytest.approx(5)
    assert workspace.show_rate == pytest.approx(0.5)
    assert workspace.cost_per_completed == Decimal("165.00")
    assert [stage["count"] for stage in workspace.funnel] == [4, 2, 2, 1, 1]


def test_metrics_take_four_queries_whatever_the_number_of_studies(admin, now,
                                                                  django_assert_num_queries):
    for _ in range(3):
        _started(admin, now)
    with django_assert_num_queries(4):
        assert len(metrics.study_metrics(Study.objects.all())) == 3
    for _ in range(12):
        _started(admin, now)
    with django_assert_num_queries(4):
        assert len(metrics.study_metrics(Study.objects.all())) == 15


def _test_study(admin, now):
    """An Unmoderated Test started at T0, one participant approved (Completed in Rally once they
    submit)."""
    study = _started(admin, now, study_type=StudyType.UNMODERATED_TEST, duration_minutes=20)
    application = ApplicationFactory(study=study, ui_applicant_id="app-t", status="completed",
                                     applied_at=T0 + timedelta(minutes=10))
    return study, application


def test_an_unmoderated_tests_first_completion_is_not_a_confirmed_session(history, admin, now):
    study, application = _test_study(admin, now)
    now.at(hours=9)  # recorded by the poller 3 hours after the submission
    assert unmoderated_completion_record(application_id=application.pk,
                                         completed_at=T0 + timedelta(hours=6),
                                         actor_label="test") is not None
    rows = {row.study_id: row for row in metrics.study_metrics(
        Study.objects.filter(pk__in=[history.pk, study.pk]))}
    test = rows[study.pk]
    assert test.hours_to_first_session is None
    assert test.hours_to_first_completion == pytest.approx(6)  # when submitted
    assert test.session_verdict.tone == "none"
    # The workspace's session median is the moderated study's alone (5 hours, not 5 and 9).
    workspace = metrics.workspace_metrics(list(rows.values()))
    assert workspace.median_hours_to_first_session == pytest.approx(5)
    moderated = rows[history.pk]
    assert moderated.hours_to_first_completion is None
    assert moderated.hours_to_first_session == pytest.approx(5)


def test_the_panel_and_reports_show_a_tests_first_completion(client_for, admin, now):
    study, application = _test_study(admin, now)
    client = client_for(admin)
    overview = reverse("recruitment:metrics_panel", args=[study.pk])
    body = client.get(overview, headers=HTMX).content.decode()
    assert "Time to first completed test" in body and "No test completed yet." in body
    assert "Time to first confirmed session" not in body
    now.at(hours=7)
    unmoderated_completion_record(application_id=application.pk,
                                  completed_at=T0 + timedelta(hours=6, minutes=30),
                                  actor_label="test")
    body = client.get(overview, headers=HTMX).content.decode()
    assert "6.5 hours" in body
    assert "User Interviews publishes no median for tests." in body
    assert "median (24 hours)" not in body
    reports = client.get(REPORTS).content.decode()
    assert "6.5 hours" in reports and "First completed test" in reports


# The overview panel ------------------------------------------------------------------------


HTMX = {"HX-Request": "true"}


def _card_url(study):
    return reverse("recruitment:metrics_panel", args=[study.pk])


def test_overview_places_the_panel_and_loads_it_after_the_page(client_for, admin, history, now):
    body = client_for(admin).get(
        reverse("studies:study_overview", args=[history.pk])).content.decode()
    assert "Recruitment metrics" in body and 'aria-busy="true"' in body
    assert f'data-hx-get="{_card_url(history)}"' in body and 'data-hx-trigger="load"' in body
    assert f'<a href="{_card_url(history)}">Open the metrics</a>' in body
    assert "50 minutes" not in body  # the figures come with the card


def test_the_card_shows_the_metrics_with_verdicts(client_for, admin, history, now,
                                                   django_assert_max_num_queries):
    client = client_for(admin)
    with django_assert_max_num_queries(9):
        response = client.get(_card_url(history), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h2 id=\"metrics-panel-heading\">Recruitment metrics</h2>" in body
    assert "aria-busy" not in body and "<html" not in body
    assert "50 minutes" in body and "Faster than the median (77 minutes)." in body
    assert "5 hours" in body and "26 hours" in body and "50%" in body
    assert "$165.00" in body


def test_without_javascript_the_link_opens_the_card_as_a_page(client_for, admin, history, now):
    response = client_for(admin).get(_card_url(history))
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert f"<h1>{history.name}</h1>" in body and "Faster than the median (77 minutes)." in body


def test_the_metrics_panel_is_not_shown_to_an_observer(client_for, observer, history, now):
    client = client_for(observer)
    response = client.get(reverse("studies:study_overview", args=[history.pk]))
    assert response.status_code == 200
    assert "Recruitment metrics" not in response.content.decode()
    assert client.get(_card_url(history), headers=HTMX).status_code == 403


def test_the_card_of_a_draft_or_another_workspaces_study_is_404(client_for, admin, now):
    draft = StudyFactory(workspace=admin.workspace, owner=admin.user, status=Status.DRAFT)
    client = client_for(admin)
    assert client.get(_card_url(draft), headers=HTMX).status_code == 404
    foreign = StudyFactory()
    assert client.get(_card_url(foreign), headers=HTMX).status_code == 404
    assert client.get("/studies/not-a-uuid/metrics/").status_code == 404


# The Reports page --------------------------------------------------------------------------

REPORTS = reverse("recruitment:reports")


def test_reports_page_shows_the_table_medians_and_an_accessible_funnel(client_for, admin,
                                                                       history, now):
    response = client_for(admin).get(REPORTS)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Reports</h1>" in body
    assert history.name in body
    assert 'role="img"' in body and "<title id=\"workspace-funnel-title\">" in body
    assert "Applied: 3; Invited: 2 (67% of applied)" in body
    assert "Median time to first qualified applicant" in body
    assert 'aria-sort="descending"' in body  # newest start first
    assert '>Reports</a>' in body and 'aria-current="page">Reports' in body


@pytest.mark.parametrize("role", ["admin", "ops_manager"])
def test_admins_and_ops_managers_see_every_study(client_for, personas, role, now):
    study = _started(personas["admin"], now)
    response = client_for(personas[role]).get(REPORTS)
    assert response.status_code == 200 and study.name in response.content.decode()


def test_a_researcher_sees_only_their_teams_studies(client_for, admin, researcher, now):
    theirs = _started(admin, now, name="Their team study")
    theirs.team.add(researcher.user)
    owned = StudyFactory(workspace=admin.workspace, owner=researcher.user, name="Owned study")
    other = _started(admin, now, name="Someone else's study")
    body = client_for(researcher).get(REPORTS).content.decode()
    assert theirs.name in body and owned.name in body
    assert other.name not in body
    assert "Showing the studies of your teams." in body


def test_an_observer_is_refused_and_has_no_reports_link(client_for, observer, now):
    client = client_for(observer)
    assert client.get(REPORTS).status_code == 403
    home = client.get(reverse("studies:study_list")).content.decode()
    assert REPORTS not in home


def test_another_workspace_sees_none_of_ours(client_for, admin, outsider, now):
    study = _started(admin, now)
    assert study.name not in client_for(outsider).get(REPORTS).content.decode()


def test_reports_filter_by_type_and_start_date(client_for, admin, now):
    interview = _started(admin, now, name="Interview study")
    now.at(days=10)
    test = funded_ui_study(admin, limit=2, name="Test study",
                           study_type=StudyType.UNMODERATED_TEST)
    study_mark_recruitment_started(study=test)
    client = client_for(admin)
    body = client.get(REPORTS, {"study_type": "unmoderated_test"}).content.decode()
    assert test.name in body and interview.name not in body
    body = client.get(REPORTS, {"started_from": "2026-11-10"}).content.decode()
    assert test.name in body and interview.name not in body
    body = client.get(REPORTS, {"started_to": "2026-11-05"}).content.decode()
    assert interview.name in body and test.name not in body


@pytest.mark.parametrize("params", [{"started_from": "not a date"},
                                    {"started_from": "2026-11-10", "started_to": "2026-11-01"},
                                    {"study_type": "séance"}])
def test_bad_filters_get_a_clear_message_not_a_500(client_for, admin, params, now):
    response = client_for(admin).get(REPORTS, params)
    assert response.status_code == 400
    assert "There is a problem with the filters" in response.content.decode()


def test_sorting_and_pagination_keep_the_filters(client_for, admin, now):
    for n in range(27):
        now.at(minutes=n)
        study = funded_ui_study(admin, limit=2, name=f"Study {n:02d}")
        study_mark_recruitment_started(study=study)
    client = client_for(admin)
    response = client.get(REPORTS, {"study_type": "interview", "sort": "name"})
    body = response.content.decode()
    assert "Study 00" in body and "Study 26" not in body
    assert 'href="?study_type=interview&amp;sort=name&amp;page=2"' in body
    page_two = client.get(REPORTS, {"study_type": "interview", "sort": "name", "page": 2})
    assert "Study 26" in page_two.content.decode()
    assert 'aria-sort="ascending"' in body


def test_reports_page_queries_do_not_grow_with_studies(client_for, admin, now,
                                                       django_assert_max_num_queries):
    client = client_for(admin)
    for _ in range(5):
        _started(admin, now)
    client.get(REPORTS)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as five:
        assert client.get(REPORTS).status_code == 200
    for _ in range(45):
        _started(admin, now)
    with django_assert_max_num_queries(len(five)):
        response = client.get(REPORTS)
    assert response.status_code == 200


def test_closed_and_draft_studies(client_for, admin, now):
    closed = _started(admin, now, name="Closed study")
    Study.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    draft = StudyFactory(workspace=admin.workspace, owner=admin.user, status=Status.DRAFT,
                         name="Draft study")
    body = client_for(admin).get(REPORTS).content.decode()
    assert closed.name in body and draft.name not in body


def test_the_filter_form_refreshes_only_the_results_with_htmx(client_for, admin, now):
    study = _started(admin, now, name="Partial study")
    response = client_for(admin).get(REPORTS, {"study_type": "interview"},
                                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="report-results")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="report-results"' in body and study.name in body
    assert "<html" not in body and "<h1>Reports</h1>" not in body


def test_a_closed_study_that_never_filled_says_so(client_for, admin, now):
    study = _started(admin, now, name="Closed early")
    Study.objects.filter(pk=study.pk).update(status=Status.CLOSED)
    assert "Never filled" in client_for(admin).get(REPORTS).content.decode()


def test_bad_filters_through_htmx_show_the_message_in_the_results(client_for, admin, now):
    response = client_for(admin).get(REPORTS, {"started_from": "31/31/2026"},
                                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="report-results")
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert "There is a problem with the filters" in response.content.decode()


def test_a_seat_freed_before_the_fill_counts_from_its_new_holder(admin, now):
    study = _started(admin, now)  # a limit of 2
    _applicants(study, (31, T0, False), (32, T0, False), (33, T0, False))
    first, second, third = (study.applications.get(ui_applicant_id=f"app-{n}")
                            for n in (31, 32, 33))
    for hours, application in ((1, first), (4, second), (6, third)):
        now.at(hours=hours)
        participants.applicant_invite(membership=admin, study=study,
                                      application_id=application.pk)
        if application is first:  # a no-show at +3 h gives the seat back
            type(first).objects.filter(pk=first.pk).update(
                status="no_show", updated_at=T0 + timedelta(hours=3))
    [row] = metrics.study_metrics(Study.objects.filter(pk=study.pk))
    assert row.filled and row.days_to_fill == pytest.approx(6 / 24)

"""Session reminders for Rally-panel participants (SPEC P8): planned at booking per the
study's settings, moved by a reschedule, withdrawn by a cancel, emailed in the person's own
time zone with the join and reschedule/cancel links, exactly once, recorded as contacts."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from panel import reminders
from panel.selectors import candidates_for
from participants.models import Application, Contact
from scheduling import services as scheduling
from scheduling.models import SessionReminder
from tests.conftest import MONDAY_MORNING
from tests.panel.factories import PanelInvitationFactory, PanelStudyFactory
from tests.participants.factories import StudyFactory
from tests.scheduling.factories import ApplicationFactory, SchedulingSettingsFactory

State = SessionReminder.State
#: Tuesday 2 June 2026, 10:00 in New York (16:00 in Berlin).
TUESDAY_TEN_NY = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
WEDNESDAY_TEN_NY = TUESDAY_TEN_NY + timedelta(days=1)



@pytest.fixture
def panel_study(workspace, researcher, frozen_clock):
    # Participants read the public title; the team's name stays internal.
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                              name="Q3 diary study (internal)", public_title="Panel diary")
    SchedulingSettingsFactory(study=study, meeting_url="https://meet.example.com/rally-diary")
    return study


def _invited(study, **person):
    invitation = PanelInvitationFactory(study=study, **{f"participant__{key}": value
                                                        for key, value in person.items()})
    return Application.objects.create(
        study=study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)


def _link(application):
    return scheduling.invitation_from_token(scheduling.booking_token_make(application))


def _book(application, starts_at, zone="Europe/Berlin"):
    return scheduling.session_book(invitation=_link(application), starts_at=starts_at,
                                   time_zone=zone)


def _planned(session):
    return sorted(SessionReminder.objects.filter(session=session)
                  .values_list("hours_before", "due_at", "state"))


pytestmark = pytest.mark.django_db


def test_booking_plans_the_24_and_1_hour_reminders(panel_study):
    session = _book(_invited(panel_study), TUESDAY_TEN_NY)
    assert _planned(session) == [
        (1, TUESDAY_TEN_NY - timedelta(hours=1), State.PENDING),
        (24, TUESDAY_TEN_NY - timedelta(hours=24), State.PENDING)]


def test_a_reminder_whose_moment_has_passed_is_not_planned(panel_study):
    session = _book(_invited(panel_study), datetime(2026, 6, 1, 17, 0, tzinfo=UTC))
    assert [hours for hours, _due, _state in _planned(session)] == [1]


def test_user_interviews_studies_get_no_reminders(workspace, researcher, frozen_clock):
    study = StudyFactory(workspace=workspace, owner=researcher.user)
    SchedulingSettingsFactory(study=study)
    application = ApplicationFactory(study=study, status="invited")
    session = _book(application, TUESDAY_TEN_NY)
    assert _planned(session) == []


def test_the_sweeper_emails_each_reminder_once_in_the_persons_zone(panel_study, frozen_clock):
    application = _invited(panel_study, first_name="Dana", email="dana@example.org")
    session = _book(application, TUESDAY_TEN_NY, zone="Europe/Berlin")
    assert reminders.reminders_send_due() == 0  # nothing due yet
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(hours=24))
    assert reminders.reminders_send_due() == 1
    assert reminders.reminders_send_due() == 0  # never twice
    [email] = mail.outbox[-1:]
    assert email.to == ["dana@example.org"]
    assert email.subject == "Panel diary: your session is tomorrow, Tue 02 Jun 16:00 CEST"
    assert "Tuesday 2 June 2026, 16:00–17:00 CEST (Europe/Berlin)" in email.body
    assert "https://meet.example.com/rally-diary" in email.body
    assert scheduling.booking_url_for(application) in email.body
    html = email.alternatives[0][0]
    assert "Reschedule or cancel" in html and "16:00" in html
    contact = Contact.objects.get(participant=application.participant)
    assert (contact.kind, contact.study_id, contact.subject) == (
        Contact.Kind.REMINDER, panel_study.pk, email.subject)
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(minutes=59))
    assert reminders.reminders_send_due() == 1
    assert mail.outbox[-1].subject.startswith("Panel diary: your session starts in 1 hour")
    assert [state for _h, _d, state in _planned(session)] == [State.SENT, State.SENT]
    assert Contact.objects.filter(kind=Contact.Kind.REMINDER).count() == 2


def test_rescheduling_moves_the_reminders(panel_study, frozen_clock):
    application = _invited(panel_study)
    session = _book(application, TUESDAY_TEN_NY)
    scheduling.session_reschedule(invitation=_link(application), starts_at=WEDNESDAY_TEN_NY)
    rows = SessionReminder.objects.filter(session=session)
    assert set(rows.filter(state=State.WITHDRAWN).values_list("session_starts_at", flat=True)) \
        == {TUESDAY_TEN_NY}
    assert sorted(rows.filter(state=State.PENDING).values_list("hours_before", "due_at")) == [
        (1, WEDNESDAY_TEN_NY - timedelta(hours=1)),
        (24, WEDNESDAY_TEN_NY - timedelta(hours=24))]
    # Past both old moments: only the new 24-hour reminder is due.
    frozen_clock.move_to(WEDNESDAY_TEN_NY - timedelta(hours=24))
    assert reminders.reminders_send_due() == 1
    assert "Wednesday 3 June 2026" in mail.outbox[-1].body


def test_canceling_withdraws_the_reminders(panel_study, frozen_clock):
    application = _invited(panel_study)
    session = _book(application, TUESDAY_TEN_NY)
    scheduling.session_cancel(invitation=_link(application))
    assert {state for _h, _d, state in _planned(session)} == {State.WITHDRAWN}
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(minutes=30))
    assert reminders.reminders_send_due() == 0
    assert not Contact.objects.filter(kind=Contact.Kind.REMINDER).exists()


def test_a_reminder_claimed_after_the_start_is_skipped(panel_study, frozen_clock):
    session = _book(_invited(panel_study), TUESDAY_TEN_NY)
    frozen_clock.move_to(TUESDAY_TEN_NY + timedelta(minutes=5))  # the worker was down
    assert reminders.reminders_send_due() == 0
    assert {state for _h, _d, state in _planned(session)} == {State.SKIPPED}


def test_an_unsubscribed_person_gets_no_reminder(panel_study, frozen_clock):
    application = _invited(panel_study)
    _book(application, TUESDAY_TEN_NY)
    application.participant.opted_out_at = MONDAY_MORNING
    application.participant.save()
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(hours=1))
    assert reminders.reminders_send_due() == 0


def test_a_reminder_counts_for_the_recent_contact_cooldown(panel_study, frozen_clock,
                                                           workspace, researcher):
    application = _invited(panel_study)
    _book(application, TUESDAY_TEN_NY)
    assert not Contact.objects.exists()  # only the reminder counts below
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(hours=1))
    reminders.reminders_send_due()
    other = PanelStudyFactory(workspace=workspace, owner=researcher.user)
    [candidate] = candidates_for(study=other, participants=[application.participant])
    assert candidate.flags and candidate.flags[0].startswith("Contacted today")


def test_changing_the_settings_replans_upcoming_sessions(panel_study, researcher, client_for):
    session = _book(_invited(panel_study), WEDNESDAY_TEN_NY)
    client = client_for(researcher)
    url = reverse("scheduling:study_scheduling", args=[panel_study.pk])
    form = {"hosts": [str(researcher.user.pk)], "time_zone": "America/New_York",
            "start_date": "2026-06-01", "end_date": "2026-06-12", "buffer_minutes": "0",
            "minimum_notice_minutes": "120", "meeting_url": "https://meet.example.com/x",
            **{f"hours_{day}_0_{end}": hour for day in range(5)
               for end, hour in (("start", "09:00"), ("end", "17:00"))},
            "reminder_hours": ["48", "2"]}
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    pending = sorted(SessionReminder.objects.filter(session=session, state=State.PENDING)
                     .values_list("hours_before", flat=True))
    assert pending == [2, 48]


def test_ui_studies_show_reminders_unavailable(workspace, researcher, client_for,
                                               frozen_clock):
    study = StudyFactory(workspace=workspace, owner=researcher.user)
    SchedulingSettingsFactory(study=study)
    html = client_for(researcher).get(
        reverse("scheduling:study_scheduling", args=[study.pk])).content.decode()
    assert "User Interviews reminds its own participants" in html


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_send_every_reminder_exactly_once(workspace, researcher, monkeypatch):
    with time_machine.travel(MONDAY_MORNING, tick=False) as clock_:
        study = PanelStudyFactory(workspace=workspace, owner=researcher.user)
        SchedulingSettingsFactory(study=study)
        # Twenty sessions (Tuesday to Thursday, 9:00 to 15:00 New York), each with a
        # reminder due now: more than one claim takes.
        starts = [datetime(2026, 6, day, 13 + hour, 0, tzinfo=UTC)
                  for day in (2, 3, 4) for hour in range(7)][:20]
        sessions = [_book(_invited(study), starts_at) for starts_at in starts]
        SessionReminder.objects.all().delete()
        SessionReminder.objects.bulk_create([SessionReminder(
            workspace=workspace, study=study, session=session,
            session_sequence=session.sequence, hours_before=2,
            session_starts_at=session.starts_at, due_at=MONDAY_MORNING,
            created_at=MONDAY_MORNING, updated_at=MONDAY_MORNING) for session in sessions])
        clock_.move_to(MONDAY_MORNING + timedelta(minutes=1))
        monkeypatch.setattr(reminders, "BATCH", 3)
        barrier = threading.Barrier(2)
        sent, crashed = [], []

        def sweep():
            try:
                barrier.wait()
                sent.append(reminders.reminders_send_due())
            except Exception as error:  # a crash must fail the test, not hang it
                crashed.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not crashed, crashed
    assert sum(sent) == 20
    assert SessionReminder.objects.filter(state=State.SENT).count() == 20
    assert Contact.objects.filter(kind=Contact.Kind.REMINDER).count() == 20
    per_person_and_subject = {}
    for email in mail.outbox:
        if ": your session " in email.subject:
            key = (email.to[0], email.subject)
            per_person_and_subject[key] = per_person_and_subject.get(key, 0) + 1
    assert len(per_person_and_subject) == 20
    assert set(per_person_and_subject.values()) == {1}


def test_reports_compare_the_show_rate_with_and_without_reminders(
        panel_study, workspace, researcher, admin, client_for, frozen_clock):
    from recruitment import metrics

    reminded = _invited(panel_study)
    _book(reminded, TUESDAY_TEN_NY)
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(hours=1))
    assert reminders.reminders_send_due() == 1
    Application.objects.filter(pk=reminded.pk).update(status="completed")
    plain = PanelStudyFactory(workspace=workspace, owner=researcher.user, name="No reminders")
    Application.objects.filter(pk=_invited(plain).pk).update(status="no_show")
    rows = {row.name: row for row in metrics.study_metrics(
        type(panel_study).objects.filter(pk__in=[panel_study.pk, plain.pk]))}
    assert rows["Q3 diary study (internal)"].reminders_sent
    assert not rows["No reminders"].reminders_sent
    summary = metrics.workspace_metrics(list(rows.values()))
    assert (summary.with_reminders.show_rate, summary.without_reminders.show_rate) == (1.0, 0.0)
    html = client_for(admin).get(reverse("recruitment:reports")).content.decode()
    assert "Show rate with reminders" in html and "Show rate without reminders" in html


def test_an_overdue_reminder_gives_way_to_a_later_one_due_too(panel_study, frozen_clock):
    session = _book(_invited(panel_study), TUESDAY_TEN_NY)
    frozen_clock.move_to(TUESDAY_TEN_NY - timedelta(minutes=50))  # the worker was down
    assert reminders.reminders_send_due() == 1  # one email, not two at once
    assert "your session starts in 1 hour" in mail.outbox[-1].subject
    states = {hours: state for hours, _due, state in _planned(session)}
    assert states == {24: State.SKIPPED, 1: State.SENT}


def test_a_host_cancel_withdraws_the_reminders_and_a_new_booking_plans_new_ones(
        panel_study, researcher, frozen_clock):
    application = _invited(panel_study)
    first = _book(application, TUESDAY_TEN_NY)
    scheduling.session_cancel_by_host(membership=researcher, session_id=first.pk,
                                      reason="reschedule")
    assert {state for _h, _d, state in _planned(first)} == {State.WITHDRAWN}
    second = _book(application, WEDNESDAY_TEN_NY)  # the participant picks another time
    assert [state for _h, _d, state in _planned(second)] == [State.PENDING, State.PENDING]

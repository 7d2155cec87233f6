"""Booking, rescheduling, canceling and marking sessions (services, real Postgres)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError

from participants.models import Application
from rally.models import ActivityEntry, OutboxOperation
from scheduling import services
from scheduling.models import Session
from scheduling.services import BookingRefused, InvalidBookingLink, SlotTaken
from tests.scheduling.factories import SchedulingSettingsFactory
from tests.scheduling.invites import invite_read

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # Monday 10:00 New York
ELEVEN_NY = TEN_NY + timedelta(hours=1)


def invitation_for(application):
    return services.invitation_from_token(services.booking_token_make(application))


def test_booking_creates_an_upcoming_session_with_outbox_activity_and_status(
        scheduling, invited, django_capture_on_commit_callbacks):
    application = invited()
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_book(invitation=invitation_for(application), starts_at=TEN_NY,
                                        time_zone="Europe/Berlin")
    assert session.status == Session.Status.UPCOMING
    assert (session.starts_at, session.ends_at) == (TEN_NY, TEN_NY + timedelta(hours=1))
    assert session.host == scheduling.study.owner
    assert session.participant_time_zone == "Europe/Berlin"
    application.refresh_from_db()
    assert application.status == Application.Status.SCHEDULED
    op = OutboxOperation.objects.get(operation="create_session")
    assert op.payload == {"session_id": str(session.pk), "application_id": str(application.pk),
                          "study_id": str(application.study_id)}
    assert ActivityEntry.objects.filter(action="session.booked", study_id=session.study_id).exists()
    assert len(mail.outbox) == 1
    invite = mail.outbox[0]
    assert invite.to == [session.host.email]
    method, event = invite_read(invite)
    assert (method, str(event["UID"]), event.decoded("SEQUENCE")) == ("REQUEST",
                                                                       session.ics_uid, 0)
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (session.starts_at,
                                                                  session.ends_at)
    assert str(event["ORGANIZER"]) == f"mailto:{session.host.email}"
    # Inline in multipart/alternative, so mail clients offer accept and decline.
    mime = invite.message()
    assert mime.get_content_type() == "multipart/mixed"
    alternative = next(part for part in mime.walk()
                       if part.get_content_type() == "multipart/alternative")
    inline = [part for part in alternative.get_payload()
              if part.get_content_type() == "text/calendar"]
    assert len(inline) == 1 and inline[0].get_param("method") == "REQUEST"
    assert inline[0].get_content_disposition() is None


def test_the_default_settings_follow_c1(study):
    row = services.scheduling_settings_ensure(study=study)
    assert list(row.hosts.all()) == [study.owner]
    assert row.time_zone == study.owner.time_zone
    assert (row.end_date - row.start_date).days == 13
    assert row.weekly_hours == {str(d): [["09:00", "17:00"]] for d in range(5)}
    assert (row.buffer_minutes, row.minimum_notice_minutes, row.rolling_days) == (0, 120, None)


def test_a_taken_time_is_refused_and_nothing_changes(scheduling, invited):
    first, second = invited(), invited()
    services.session_book(invitation=invitation_for(first), starts_at=TEN_NY)
    with pytest.raises(SlotTaken, match="just taken"):
        services.session_book(invitation=invitation_for(second), starts_at=TEN_NY)
    second.refresh_from_db()
    assert second.status == Application.Status.INVITED
    assert Session.objects.count() == 1


@pytest.mark.parametrize(("starts_at", "message"), [
    (datetime(2026, 6, 1, 11, 0, tzinfo=UTC), "already passed"),
    (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "too soon"),  # 9:00 NY, notice is 2 hours
    (datetime(2026, 6, 6, 14, 0, tzinfo=UTC), "not one of the available"),  # Saturday
    (datetime(2026, 6, 1, 14, 10, tzinfo=UTC), "not one of the available"),  # off the grid
    (datetime(2026, 7, 1, 14, 0, tzinfo=UTC), "not one of the available"),  # after the range
])
def test_bad_times_are_refused_with_a_reason(scheduling, invited, starts_at, message):
    application = invited()
    with pytest.raises(BookingRefused, match=message):
        services.session_book(invitation=invitation_for(application), starts_at=starts_at)
    assert not Session.objects.exists()
    assert not OutboxOperation.objects.exists()


def test_forged_and_expired_links_are_refused(scheduling, invited, monkeypatch):
    application = invited()
    token = services.booking_token_make(application)
    with pytest.raises(InvalidBookingLink) as forged:
        services.invitation_from_token(token[:-2] + "xx")
    assert not forged.value.expired
    signer = signing.TimestampSigner(salt=services.BOOKING_TOKEN_SALT)
    monkeypatch.setattr(signer, "timestamp", lambda: signing.b62_encode(1_000_000))
    old = signer.sign_object({"application": str(application.pk)}, compress=True)
    with pytest.raises(InvalidBookingLink, match="expired") as expired:
        services.invitation_from_token(old)
    assert expired.value.expired


def test_the_hosts_sessions_in_other_studies_block_their_time(scheduling, invited, workspace):
    other = SchedulingSettingsFactory(
        study__workspace=workspace, study__owner=scheduling.study.owner)
    other_application = invited(study=other.study)
    services.session_book(invitation=invitation_for(other_application), starts_at=TEN_NY)
    with pytest.raises(SlotTaken):
        services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)


def test_a_second_host_takes_a_time_the_first_host_has_taken(scheduling, invited, admin):
    scheduling.study.team.add(admin.user)
    scheduling.hosts.add(admin.user)
    first = services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)
    second = services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)
    assert {first.host_id, second.host_id} == {scheduling.study.owner.pk, admin.user.pk}
    with pytest.raises(SlotTaken):
        services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)


def test_reschedule_moves_the_session_and_bumps_the_sequence(
        scheduling, invited, django_capture_on_commit_callbacks):
    application = invited()
    invitation = invitation_for(application)
    services.session_book(invitation=invitation, starts_at=TEN_NY)
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.session_reschedule(invitation=invitation, starts_at=ELEVEN_NY)
    assert moved.starts_at == ELEVEN_NY and moved.sequence == 1
    assert OutboxOperation.objects.filter(operation="reschedule_session").count() == 1
    method, event = invite_read(mail.outbox[-1])
    assert (method, event.decoded("SEQUENCE"), event.decoded("DTSTART")) == ("REQUEST", 1,
                                                                             ELEVEN_NY)
    # the freed time can be booked by someone else
    services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)


def test_reschedule_and_cancel_after_the_start_are_refused(scheduling, invited, frozen_clock):
    invitation = invitation_for(invited())
    session = services.session_book(invitation=invitation, starts_at=TEN_NY)
    frozen_clock.move_to(TEN_NY + timedelta(minutes=1))
    with pytest.raises(BookingRefused, match="already started"):
        services.session_reschedule(invitation=invitation,
                                    starts_at=datetime(2026, 6, 2, 14, tzinfo=UTC))
    with pytest.raises(BookingRefused, match="already started"):
        services.session_cancel(invitation=invitation)
    session.refresh_from_db()
    assert session.starts_at == TEN_NY and session.status == Session.Status.UPCOMING


def test_cancel_frees_the_time_and_sends_a_cancellation(
        scheduling, invited, django_capture_on_commit_callbacks):
    application = invited()
    invitation = invitation_for(application)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_book(invitation=invitation, starts_at=TEN_NY)
    with django_capture_on_commit_callbacks(execute=True):
        canceled = services.session_cancel(invitation=invitation)
    assert canceled.status == Session.Status.CANCELED
    application.refresh_from_db()
    assert application.status == Application.Status.CANCELED
    method, event = invite_read(mail.outbox[-1])
    assert (method, event.decoded("SEQUENCE"), str(event["STATUS"])) == ("CANCEL", 1,
                                                                         "CANCELLED")
    assert [invite_read(m)[0] for m in mail.outbox] == ["REQUEST", "CANCEL"]
    assert OutboxOperation.objects.filter(operation="cancel_session").exists()
    services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)


def test_a_closed_study_refuses_bookings_and_reschedules(scheduling, invited):
    invitation = invitation_for(invited())
    services.session_book(invitation=invitation, starts_at=TEN_NY)
    scheduling.study.status = "closed"
    scheduling.study.save()
    with pytest.raises(BookingRefused, match="closed"):
        services.session_reschedule(invitation=invitation, starts_at=ELEVEN_NY)
    with pytest.raises(BookingRefused, match="closed"):
        services.session_book(invitation=invitation_for(invited()), starts_at=ELEVEN_NY)


def test_host_marks_completed_or_no_show_only_after_the_end(scheduling, invited, researcher,
                                                            observer, frozen_clock):
    application = invited()
    session = services.session_book(invitation=invitation_for(application), starts_at=TEN_NY)
    with pytest.raises(BookingRefused, match="after it ends"):
        services.session_mark(membership=researcher, session_id=session.pk, status="completed")
    frozen_clock.move_to(TEN_NY + timedelta(hours=1, minutes=5))
    from django.core.exceptions import PermissionDenied
    with pytest.raises(PermissionDenied):
        services.session_mark(membership=observer, session_id=session.pk, status="completed")
    services.session_mark(membership=researcher, session_id=session.pk, status="completed")
    services.session_mark(membership=researcher, session_id=session.pk, status="completed")
    session.refresh_from_db()
    application.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
    assert application.status == Application.Status.COMPLETED
    assert OutboxOperation.objects.filter(operation="complete_session").count() == 1
    # Until an incentive is sent, a Completed session may still be marked No-show (C5).
    services.session_mark(membership=researcher, session_id=session.pk, status="no_show")
    session.refresh_from_db()
    assert session.status == Session.Status.NO_SHOW


@pytest.mark.parametrize("transition", [
    (Session.Status.UPCOMING, Session.Status.COMPLETED, True),
    (Session.Status.UPCOMING, Session.Status.NO_SHOW, True),
    (Session.Status.UPCOMING, Session.Status.CANCELED, True),
    (Session.Status.COMPLETED, Session.Status.NO_SHOW, True),
    (Session.Status.NO_SHOW, Session.Status.COMPLETED, True),
    (Session.Status.COMPLETED, Session.Status.CANCELED, False),
    (Session.Status.NO_SHOW, Session.Status.CANCELED, False),
    (Session.Status.CANCELED, Session.Status.UPCOMING, False),
])
def test_session_transitions_table(transition):
    old, new, allowed = transition
    assert Session(status=old).can_become(new) is allowed


def test_settings_refuse_bad_input_and_change_nothing(scheduling, researcher):
    from datetime import date, time
    data = services.SettingsInput(
        hosts=[researcher.user], time_zone="Mars/Olympus", start_date=date(2026, 6, 10),
        end_date=date(2026, 6, 1), rolling_days=7,
        weekly_hours={0: [(time(9), time(12)), (time(11), time(13))]},
        unavailable_dates=[], buffer_minutes=0, minimum_notice_minutes=60, group_capacity=1)
    with pytest.raises(ValidationError) as error:
        services.scheduling_settings_update(membership=researcher, study=scheduling.study,
                                            data=data)
    assert set(error.value.message_dict) == {"time_zone", "end_date", "weekly_hours",
                                             "rolling_days"}
    scheduling.refresh_from_db()
    assert scheduling.time_zone == "America/New_York"


def test_booking_url_is_absolute_and_round_trips(settings, scheduling, invited):
    settings.RALLY_BASE_URL = "https://rally.example.com"
    application = invited()
    url = services.booking_url_for(application)
    assert url.startswith("https://rally.example.com/book/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert services.invitation_from_token(token).application_id == str(application.pk)


def test_templates_copy_scheduling_settings_as_a_snapshot(scheduling, researcher):
    from recruitment.workflows import study_copy

    scheduling.buffer_minutes = 15
    scheduling.save()
    template = study_copy(kind="template", membership=researcher, study=scheduling.study)
    copied = template.scheduling_settings
    assert copied.buffer_minutes == 15 and copied.time_zone == scheduling.time_zone
    assert list(copied.hosts.all()) == [researcher.user]
    scheduling.buffer_minutes = 30
    scheduling.save()
    copied.refresh_from_db()
    assert copied.buffer_minutes == 15


def test_no_calendar_message_for_a_session_that_is_over(scheduling, invited, frozen_clock):
    from scheduling import ics

    session = services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)
    mail.outbox.clear()
    frozen_clock.move_to(session.ends_at)
    assert ics.session_invite_send(session_id=session.pk) == 0
    assert mail.outbox == []
    session.refresh_from_db()
    assert session.invite_sequence_sent == session.sequence  # the sweep lets it be


def test_a_cancellation_goes_only_to_who_was_invited(scheduling, invited, frozen_clock):
    from scheduling import ics

    session = services.session_book(invitation=invitation_for(invited()), starts_at=TEN_NY)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELED, sequence=1)
    mail.outbox.clear()
    assert ics.session_invite_send(session_id=session.pk) == 0  # never invited: no CANCEL
    assert mail.outbox == []

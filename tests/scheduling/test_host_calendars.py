"""Hosts' own calendars, tested for real: a Radicale CalDAV server as a process and an .ics
feed over local HTTP. Busy time read from them never reaches the booking page (across the
US daylight-saving change of 8 March 2026), sessions are written into the host's calendar and
moved and removed with it, and a calendar that cannot be read flags the host, not a crash."""

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
import time_machine
from caldav.lib import error as caldav_errors
from django.urls import reverse

from rally.encryption import decrypt
from rally.models import ActivityEntry
from scheduling import host_calendars, ics, services
from scheduling.host_calendars import ConnectInput
from scheduling.models import HostBusyInterval, HostCalendar, Session
from scheduling.slots import Interval
from tests.scheduling.calendar_servers import (
    VTIMEZONE_BERLIN,
    VTIMEZONE_LOS_ANGELES,
    VTIMEZONE_NEW_YORK,
    FeedServer,
    caldav_calendar,
    free_port,
    radicale_running,
    vcalendar,
    vevent,
)
from tests.scheduling.factories import ActiveStudyFactory, SchedulingSettingsFactory

pytestmark = [pytest.mark.long, pytest.mark.django_db]

#: Sunday 1 March 2026, 07:00 in New York (EST); the US moves to EDT on Sunday 8 March.
SUNDAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def utc(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    with radicale_running(tmp_path_factory.mktemp("radicale")) as url:
        yield url


@pytest.fixture
def frozen_clock():
    with time_machine.travel(SUNDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def study(workspace, researcher, frozen_clock):
    return ActiveStudyFactory(workspace=workspace, owner=researcher.user, duration_minutes=60)


@pytest.fixture
def scheduling(study):
    """Weekdays 9:00-17:00 New York, 2-13 March 2026 (the DST change falls in between)."""
    return SchedulingSettingsFactory(study=study, start_date=date(2026, 3, 2),
                                     end_date=date(2026, 3, 13))


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """The Celery worker, inline: calendar reads and write-backs run when enqueued."""
    from rally.celery import app

    sent = []

    def send_task(name, args=(), **kwargs):
        sent.append((name, list(args)))
        if name == "scheduling.session_invite_send":
            ics.session_invite_send(session_id=args[0])
        elif name == host_calendars.SYNC_TASK:
            host_calendars.host_calendar_sync(calendar_id=args[0])
        elif name == host_calendars.WRITE_TASK:
            host_calendars.session_calendar_write(session_id=args[0])

    monkeypatch.setattr(app, "send_task", send_task)
    return sent


def connect(user, on_commit, **data):
    with on_commit(execute=True):
        host_calendars.host_calendar_connect(user=user, data=ConnectInput(**data))
    return HostCalendar.objects.get(user=user)


def offered(client, application):
    url = reverse("scheduling:booking",
                  kwargs={"token": services.booking_token_make(application)})
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return [Interval(datetime.fromisoformat(s["startsAt"]), datetime.fromisoformat(s["endsAt"]))
            for s in response.json()["slots"]]


def starts(slots):
    return {slot.start for slot in slots}


# The host's week, in four time zones -------------------------------------------------------

ZONES = (VTIMEZONE_BERLIN, VTIMEZONE_NEW_YORK, VTIMEZONE_LOS_ANGELES)
HOST_EVENTS = (
    # Wednesdays 15:00-16:00 in Berlin: 09:00 New York before 8 March, 10:00 after.
    vevent("weekly-berlin", "SUMMARY:Team sync", "DTSTART;TZID=Europe/Berlin:20260304T150000",
           "DTEND;TZID=Europe/Berlin:20260304T160000", "RRULE:FREQ=WEEKLY;COUNT=4"),
    # Lunch every day at 13:00 New York: 18:00 UTC, then 17:00 UTC after the change.
    vevent("lunch", "SUMMARY:Lunch", "DTSTART;TZID=America/New_York:20260302T130000",
           "DTEND;TZID=America/New_York:20260302T133000", "RRULE:FREQ=DAILY;COUNT=14"),
    # A day off, all day Tuesday 10 March (the host's own day).
    vevent("day-off", "SUMMARY:Offsite", "DTSTART;VALUE=DATE:20260310",
           "DTEND;VALUE=DATE:20260311"),
    # A call in Los Angeles time: 09:00-10:30 PDT = 12:00-13:30 EDT on Thursday 12 March.
    vevent("la-call", "SUMMARY:Partner call", "DTSTART;TZID=America/Los_Angeles:20260312T090000",
           "DTEND;TZID=America/Los_Angeles:20260312T103000"),
    # A weekly one-on-one that started long before the window read (Mondays 20:00 UTC).
    vevent("one-on-one", "SUMMARY:1:1", "DTSTART:20250106T200000Z", "DTEND:20250106T203000Z",
           "RRULE:FREQ=WEEKLY"),
    # Marked "free": it must not block anything.
    vevent("free-time", "SUMMARY:Focus", "TRANSP:TRANSPARENT",
           "DTSTART;TZID=America/New_York:20260305T110000",
           "DTEND;TZID=America/New_York:20260305T120000"),
    # Canceled: neither.
    vevent("canceled", "SUMMARY:Old meeting", "STATUS:CANCELLED",
           "DTSTART;TZID=America/New_York:20260306T100000",
           "DTEND;TZID=America/New_York:20260306T110000"),
)
# A feed is one calendar file; a CalDAV server keeps one object per event (RFC 4791 4.1).
HOST_WEEK = vcalendar(*ZONES, *HOST_EVENTS)


def put_host_week(calendar):
    for event in HOST_EVENTS:
        calendar.save_event(vcalendar(*ZONES, event))

BUSY = (
    [Interval(utc(4, 14), utc(4, 15)), Interval(utc(11, 14), utc(11, 15))]
    + [Interval(utc(day, 18), utc(day, 18, 30)) for day in (2, 3, 4, 5, 6)]
    + [Interval(utc(day, 17), utc(day, 17, 30)) for day in (9, 10, 11, 12, 13)]
    + [Interval(utc(10, 4), utc(11, 4)), Interval(utc(12, 16), utc(12, 17, 30))]
    + [Interval(utc(2, 20), utc(2, 20, 30)), Interval(utc(9, 20), utc(9, 20, 30))]
)


def assert_host_week_blocked(slots):
    clashes = [slot for slot in slots for busy in BUSY if slot.overlaps(busy)]
    assert clashes == []
    # Next to the busy times, the free times are still offered (on both sides of the change).
    assert {utc(4, 15), utc(11, 13), utc(11, 15), utc(3, 17), utc(3, 18, 30), utc(9, 16),
            utc(9, 17, 30), utc(12, 15), utc(12, 17, 30), utc(5, 16), utc(6, 15)} <= starts(slots)
    assert not [slot for slot in slots if utc(10, 4) <= slot.start < utc(11, 4)]


def test_caldav_busy_times_never_reach_the_booking_page_across_dst(
        client, radicale, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    application = invited()
    before = offered(client, application)
    assert {utc(4, 14), utc(11, 14), utc(10, 14), utc(12, 16), utc(2, 20),
            utc(9, 20)} <= starts(before)
    work = caldav_calendar(radicale, "casey-dst", "work", "Work")
    put_host_week(work)

    row = connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
                  server_url=radicale, username="casey-dst", password="app-password")

    assert row.state == HostCalendar.State.OK and row.last_error == ""
    assert row.calendars == [{"url": str(work.url), "name": "Work"}]
    assert_host_week_blocked(offered(client, application))
    # Only start and end are kept.
    stored = list(HostBusyInterval.objects.filter(user=researcher.user)
                  .values_list("starts_at", "ends_at"))
    assert (utc(12, 16), utc(12, 17, 30)) in stored
    assert row.password_encrypted != "app-password"
    assert decrypt(row.password_encrypted) == "app-password"


def test_booking_a_busy_time_is_refused(client, radicale, researcher, scheduling, invited,
                                        django_capture_on_commit_callbacks):
    put_host_week(caldav_calendar(radicale, "casey-refuse", "work", "Work"))
    connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
            server_url=radicale, username="casey-refuse", password="app-password")
    with pytest.raises(services.SchedulingError):
        services.session_book(invitation=services.invitation_from_token(
            services.booking_token_make(invited())), starts_at=utc(4, 14))
    assert not Session.objects.exists()


def _event_in(calendar, session):
    event = calendar.event_by_uid(session.ics_uid)
    component = icalendar.Calendar.from_ical(event.data).walk("VEVENT")[0]
    return component


def test_a_booked_session_is_written_moved_and_removed_in_the_hosts_calendar(
        client, radicale, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    work = caldav_calendar(radicale, "casey-write", "work", "Work")
    caldav_calendar(radicale, "casey-write", "personal", "Personal")
    connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
            server_url=radicale, username="casey-write", password="app-password")
    host_calendars.host_calendar_write_target_set(user=researcher.user,
                                                  calendar_url=str(work.url))
    invitation = services.invitation_from_token(services.booking_token_make(invited()))

    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_book(invitation=invitation, starts_at=utc(2, 15))
    event = _event_in(work, session)
    assert event.start == utc(2, 15) and event.end == utc(2, 16)
    assert "session with" in str(event["SUMMARY"]) and "ATTENDEE" not in event
    session.refresh_from_db()
    assert session.calendar_event_url.startswith(str(work.url))
    assert session.calendar_sequence_written == session.sequence == 0

    # Rally's own event in the calendar is not read back as something else making the host busy.
    with django_capture_on_commit_callbacks(execute=True):
        host_calendars.host_calendar_refresh(user=researcher.user)
    assert not HostBusyInterval.objects.filter(user=researcher.user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.session_reschedule(invitation=invitation, starts_at=utc(3, 16))
    event = _event_in(work, session)
    assert event.start == utc(3, 16) and int(event["SEQUENCE"]) == 1
    assert len(work.events()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(invitation=invitation)
    with pytest.raises(caldav_errors.NotFoundError):
        work.event_by_uid(session.ics_uid)
    session.refresh_from_db()
    assert session.calendar_event_url == "" and session.calendar_sequence_written == 2


def test_without_a_chosen_calendar_nothing_is_written(
        radicale, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    work = caldav_calendar(radicale, "casey-nowrite", "work", "Work")
    connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
            server_url=radicale, username="casey-nowrite", password="app-password")
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_book(invitation=services.invitation_from_token(
            services.booking_token_make(invited())), starts_at=utc(2, 15))
    assert work.events() == []
    session.refresh_from_db()
    assert session.calendar_event_url == "" and session.calendar_sequence_written == 0


def test_an_unreachable_caldav_server_flags_the_host_once_and_breaks_nothing(
        client, client_for, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    nowhere = f"http://127.0.0.1:{free_port()}/"
    row = connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
                  server_url=nowhere, username="casey", password="app-password")

    assert row.state == HostCalendar.State.FAILING
    assert row.last_error == "The calendar server could not be reached."
    assert offered(client, invited())  # the booking page still works and offers times
    host_calendars.host_calendar_sync(calendar_id=row.pk)  # the next scheduled read
    entries = ActivityEntry.objects.filter(action="calendar.unreadable")
    assert entries.count() == 1
    assert "cannot be read" in entries.get().summary

    page = client_for(researcher).get(reverse("scheduling:study_scheduling",
                                              args=[scheduling.study_id]))
    flag = page.content.decode().split('id="calendar-flags"', 1)[1].split("</div>", 1)[0]
    assert f"{researcher.user.display_name}'s calendar cannot be read" in flag
    assert "could not be reached" in flag


def test_a_feed_blocks_its_times_and_keeps_them_while_it_cannot_be_read(
        client, client_for, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    application = invited()
    with FeedServer(HOST_WEEK) as feed:
        row = connect(researcher.user, django_capture_on_commit_callbacks, kind="feed",
                      feed_url=feed.url)
        assert row.state == HostCalendar.State.OK and feed.requests == 1
        assert row.feed_host.startswith("127.0.0.1:") and "private" not in row.address_display
        assert decrypt(row.feed_url_encrypted) == feed.url
        assert_host_week_blocked(offered(client, application))
        kept = list(HostBusyInterval.objects.filter(user=researcher.user)
                    .order_by("starts_at").values_list("starts_at", "ends_at"))

        feed.status = 503
        row = host_calendars.host_calendar_sync(calendar_id=row.pk)
        assert row.state == HostCalendar.State.FAILING and "HTTP 503" in row.last_error
        assert list(HostBusyInterval.objects.filter(user=researcher.user)
                    .order_by("starts_at").values_list("starts_at", "ends_at")) == kept
        assert_host_week_blocked(offered(client, application))
        page = client_for(researcher).get(reverse("scheduling:study_scheduling",
                                                  args=[scheduling.study_id]))
        assert "Their busy times as last read still block sessions." in page.content.decode()

        feed.status = 200
        row = host_calendars.host_calendar_sync(calendar_id=row.pk)
        assert row.state == HostCalendar.State.OK and row.failing_since is None
    assert ActivityEntry.objects.filter(action="calendar.readable_again").count() == 1


def test_a_feed_that_is_not_icalendar_is_unreadable(researcher, scheduling,
                                                    django_capture_on_commit_callbacks):
    with FeedServer("<html>Sign in to continue</html>") as feed:
        row = connect(researcher.user, django_capture_on_commit_callbacks, kind="feed",
                      feed_url=feed.url)
    assert row.state == HostCalendar.State.FAILING
    assert "not a valid iCalendar file" in row.last_error


def test_the_sweep_reads_due_calendars_once_each(researcher, scheduling, frozen_clock,
                                                 django_capture_on_commit_callbacks):
    with FeedServer(HOST_WEEK) as feed:
        row = connect(researcher.user, django_capture_on_commit_callbacks, kind="feed",
                      feed_url=feed.url)
        assert host_calendars.host_calendars_sync_due() == 0  # just read
        frozen_clock.shift(host_calendars.SYNC_EVERY + timedelta(seconds=1))
        assert host_calendars.host_calendars_due(now=host_calendars.clock.now()) == [row.pk]
        assert host_calendars.host_calendars_sync_due() == 1
        assert feed.requests == 2
        assert host_calendars.host_calendars_sync_due() == 0


@pytest.mark.parametrize("kind", ["feed", "caldav"])
def test_outside_development_private_addresses_are_not_read(settings, kind, researcher,
                                                             scheduling,
                                                             django_capture_on_commit_callbacks):
    settings.CALENDAR_PRIVATE_ADDRESSES_ALLOWED = False
    with FeedServer(HOST_WEEK) as feed:
        fields = ({"feed_url": feed.url} if kind == "feed" else
                  {"server_url": feed.url, "username": "casey", "password": "app-password"})
        row = connect(researcher.user, django_capture_on_commit_callbacks, kind=kind, **fields)
    assert feed.requests == 0
    assert row.state == HostCalendar.State.FAILING
    assert "public internet only" in row.last_error


def test_a_write_back_the_server_refuses_is_kept_due_for_the_sweeper(
        radicale, researcher, scheduling, invited, frozen_clock,
        django_capture_on_commit_callbacks):
    work = caldav_calendar(radicale, "casey-retry", "work", "Work")
    row = connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
                  server_url=radicale, username="casey-retry", password="app-password")
    host_calendars.host_calendar_write_target_set(user=researcher.user,
                                                  calendar_url=str(work.url))
    # The server cannot be reached when the session is booked.
    HostCalendar.objects.filter(pk=row.pk).update(
        write_calendar_url=f"http://127.0.0.1:{free_port()}/casey-retry/work/")
    session = services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=utc(2, 15))
    with pytest.raises(host_calendars.CalendarUnreadable):
        host_calendars.session_calendar_write(session_id=session.pk)
    session.refresh_from_db()
    assert session.calendar_sequence_written == -1 and session.calendar_event_url == ""
    frozen_clock.shift(timedelta(minutes=3))
    assert host_calendars.session_calendar_writes_due(now=host_calendars.clock.now()) == [
        session.pk]

    HostCalendar.objects.filter(pk=row.pk).update(write_calendar_url=str(work.url))
    from scheduling.tasks import session_calendar_writes_sweep

    session_calendar_writes_sweep()
    assert _event_in(work, session).start == utc(2, 15)
    assert host_calendars.session_calendar_writes_due(now=host_calendars.clock.now()) == []


def test_the_beat_schedule_reads_calendars_and_retries_write_backs(settings):
    from rally.celery import app

    app.loader.import_default_modules()
    assert {host_calendars.SYNC_TASK, host_calendars.WRITE_TASK,
            "scheduling.host_calendars_sync_due",
            "scheduling.session_calendar_writes_sweep"} <= set(app.tasks)
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["scheduling-host-calendars-sync"]["task"] == (
        "scheduling.host_calendars_sync_due")
    assert schedule["scheduling-calendar-writes-sweep"]["task"] == (
        "scheduling.session_calendar_writes_sweep")


def test_a_session_moving_to_another_host_moves_to_their_calendar(
        radicale, researcher, admin, scheduling, invited, django_capture_on_commit_callbacks):
    scheduling.hosts.set([researcher.user, admin.user])
    calendars = {}
    for person, name in ((researcher.user, "casey-move"), (admin.user, "avery-move")):
        calendars[person.pk] = caldav_calendar(radicale, name, "work", "Work")
        connect(person, django_capture_on_commit_callbacks, kind="caldav", server_url=radicale,
                username=name, password="app-password")
        host_calendars.host_calendar_write_target_set(
            user=person, calendar_url=str(calendars[person.pk].url))
    invitation = services.invitation_from_token(services.booking_token_make(invited()))
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_book(invitation=invitation, starts_at=utc(2, 15))
    first, other = session.host, ({researcher.user, admin.user} - {session.host}).pop()
    assert _event_in(calendars[first.pk], session).start == utc(2, 15)

    # The first host gets busy at the new time in their own calendar: the other one takes it.
    calendars[first.pk].save_event(vcalendar(vevent(
        "dentist", "SUMMARY:Dentist", "DTSTART:20260303T160000Z", "DTEND:20260303T170000Z")))
    with django_capture_on_commit_callbacks(execute=True):
        host_calendars.host_calendar_refresh(user=first)
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_reschedule(invitation=invitation, starts_at=utc(3, 16))
    assert session.host == other
    with pytest.raises(caldav_errors.NotFoundError):
        calendars[first.pk].event_by_uid(session.ics_uid)
    assert _event_in(calendars[other.pk], session).start == utc(3, 16)
    session.refresh_from_db()
    assert session.calendar_event_owner == other


def test_a_host_canceling_removes_the_session_from_their_calendar(
        radicale, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    work = caldav_calendar(radicale, "casey-hostcancel", "work", "Work")
    connect(researcher.user, django_capture_on_commit_callbacks, kind="caldav",
            server_url=radicale, username="casey-hostcancel", password="app-password")
    host_calendars.host_calendar_write_target_set(user=researcher.user,
                                                  calendar_url=str(work.url))
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_book(invitation=services.invitation_from_token(
            services.booking_token_make(invited())), starts_at=utc(2, 15))
    assert _event_in(work, session).start == utc(2, 15)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel_by_host(membership=researcher, session_id=session.pk,
                                        reason="reschedule")
    with pytest.raises(caldav_errors.NotFoundError):
        work.event_by_uid(session.ics_uid)

"""Hosts' own calendars: connecting one, reading its busy time, writing sessions into it.

Connecting, disconnecting and asking for a refresh are short durable transactions that
never talk to the calendar; reading and writing happen in workers (`scheduling.tasks`), with
the network call outside any transaction and the result recorded in a short one after it.
A calendar that cannot be read keeps the busy time last read (never silently dropped), is
flagged on the host's calendar page and on the Scheduling tab of their studies, and the
first failure of a run of failures is recorded once in the activity of each workspace the
host belongs to.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils.timesince import timesince

from rally import clock
from rally.encryption import UnreadableSecret, decrypt, encrypt
from rally.models import Membership
from rally.services import activity_record
from scheduling import calendar_reading
from scheduling.calendar_reading import CalendarUnreadable
from scheduling.models import HostBusyInterval, HostCalendar, Session
from scheduling.slots import time_zone_is_known

SYNC_TASK = "scheduling.host_calendar_sync"
WRITE_TASK = "scheduling.session_calendar_write"
SYNC_EVERY = timedelta(minutes=15)
SYNC_CLAIM = timedelta(minutes=2)
READ_BEHIND = timedelta(days=1)
READ_AHEAD = timedelta(days=180)
SYNC_ACTOR = "task:calendar_sync"

logger = logging.getLogger(__name__)


# Connecting -----------------------------------------------------------------------------------


@dataclass
class ConnectInput:
    kind: str
    server_url: str = ""
    username: str = ""
    password: str = ""
    feed_url: str = ""


def _credentials(row):
    """What identifies the calendar read: a read finishing after these changed is stale."""
    return (row.kind, row.server_url, row.username, row.password_encrypted,
            row.feed_url_encrypted)


def _source(row):
    """Which calendar it is (secrets compared in clear: each encryption differs)."""
    try:
        feed = decrypt(row.feed_url_encrypted)
    except UnreadableSecret:
        feed = None
    return (row.kind, row.server_url, row.username, feed)


def _written_events_forget(user):
    """Sessions written to a calendar Rally no longer holds the keys to: their events stay
    there (as after a disconnect) and are no longer Rally's to move or remove."""
    Session.objects.filter(calendar_event_owner=user).update(calendar_event_url="",
                                                             calendar_event_owner=None)


def _everywhere(user, *, action, summary, actor=None, actor_label="", data=None):
    """An activity entry in each workspace the person belongs to (a calendar is a person's,
    not a workspace's)."""
    for membership in Membership.objects.filter(user=user).select_related("workspace"):
        activity_record(workspace=membership.workspace, actor=actor, actor_label=actor_label,
                        action=action, summary=summary, data=data)


def _validate(data, existing):
    errors = {}
    if data.kind not in HostCalendar.Kind.values:
        errors["kind"] = "Choose CalDAV or a calendar feed."
    elif data.kind == HostCalendar.Kind.CALDAV:
        problem = calendar_reading.feed_url_problem(data.server_url)
        if problem or data.server_url.strip().lower().startswith("webcal:"):
            errors["server_url"] = "Enter the CalDAV server's address, starting with https://."
        if not data.username.strip():
            errors["username"] = "Enter the user name you sign in to the calendar with."
        keeps_password = (existing is not None and existing.kind == HostCalendar.Kind.CALDAV
                          and existing.server_url == data.server_url.strip()
                          and existing.username == data.username.strip())
        if not data.password and not keeps_password:
            errors["password"] = "Enter an app password for Rally."  # noqa: S105 - a message
    else:
        problem = calendar_reading.feed_url_problem(data.feed_url)
        if problem:
            errors["feed_url"] = problem
    if errors:
        raise ValidationError(errors)


@transaction.atomic(durable=True)
def host_calendar_connect(*, user, data: ConnectInput):
    """Connect (or change) the person's calendar; it is read by a worker right after."""
    existing = HostCalendar.objects.select_for_update().filter(user=user).first()
    _validate(data, existing)
    now = clock.now()
    row = existing or HostCalendar(user=user, created_at=now)
    before = _source(row) if existing else None
    row.kind = data.kind
    if data.kind == HostCalendar.Kind.CALDAV:
        row.server_url, row.username = data.server_url.strip(), data.username.strip()
        if data.password:
            row.password_encrypted = encrypt(data.password)
        row.feed_url_encrypted, row.feed_host = "", ""
    else:
        url = calendar_reading.feed_url_normalize(data.feed_url)
        row.feed_url_encrypted = encrypt(url)
        row.feed_host = (url.split("//", 1)[1].split("/", 1)[0]).rsplit("@", 1)[-1]
        row.server_url, row.username, row.password_encrypted = "", "", ""
        row.write_calendar_url = ""
    if before != _source(row):
        # Another calendar: what the old one said about the person no longer holds.
        HostBusyInterval.objects.filter(user=user).delete()
        if before is None or before[:2] != (row.kind, row.server_url):
            row.calendars, row.write_calendar_url = [], ""
            _written_events_forget(user)
        row.state, row.last_error = HostCalendar.State.PENDING, ""
        row.failing_since = row.failure_reported_at = row.last_read_at = None
    row.refresh_requested_at = now
    row.updated_at = now
    row.save()
    _everywhere(user, actor=user, action="calendar.connected",
                summary=f"{user.display_name} connected a calendar "
                        f"({row.get_kind_display()}: {row.address_display})",
                data={"kind": row.kind})
    _sync_after_commit(row)
    return row


@transaction.atomic(durable=True)
def host_calendar_disconnect(*, user):
    """Forget the calendar and its busy time. Events already written there stay there."""
    row = HostCalendar.objects.select_for_update().filter(user=user).first()
    if row is None:
        return False
    HostBusyInterval.objects.filter(user=user).delete()
    _written_events_forget(user)
    row.delete()
    _everywhere(user, actor=user, action="calendar.disconnected",
                summary=f"{user.display_name} disconnected their calendar")
    return True


@transaction.atomic(durable=True)
def host_calendar_write_target_set(*, user, calendar_url):
    """Choose the CalDAV calendar sessions are written to ("" stops writing new ones)."""
    row = HostCalendar.objects.select_for_update().filter(user=user).first()
    if row is None or row.kind != HostCalendar.Kind.CALDAV:
        raise ValidationError({"write_calendar_url": "Connect a CalDAV calendar first."})
    if calendar_url and calendar_url not in {c.get("url") for c in row.calendars}:
        raise ValidationError({"write_calendar_url": "Choose one of your calendars."})
    if row.write_calendar_url == calendar_url:
        return row
    row.write_calendar_url = calendar_url
    row.updated_at = clock.now()
    row.save(update_fields=["write_calendar_url", "updated_at"])
    summary = (f"{user.display_name} has new sessions added to their calendar "
               f"“{row.write_calendar_name}”" if calendar_url else
               f"{user.display_name} stopped adding sessions to their calendar")
    _everywhere(user, actor=user, action="calendar.write_back_changed", summary=summary)
    return row


@transaction.atomic(durable=True)
def host_calendar_refresh(*, user):
    """"Refresh": read the calendar now (a worker does it; the page shows when it is done)."""
    row = HostCalendar.objects.select_for_update().filter(user=user).first()
    if row is None:
        return None
    row.refresh_requested_at = clock.now()
    row.save(update_fields=["refresh_requested_at"])
    _sync_after_commit(row)
    return row


def host_calendar_is_reading(row):
    """A refresh was asked for and no read has finished since."""
    return bool(row.refresh_requested_at) and (
        row.last_attempt_at is None or row.last_attempt_at < row.refresh_requested_at)


def _sync_after_commit(row):
    calendar_id = str(row.pk)
    transaction.on_commit(lambda: _send(SYNC_TASK, calendar_id))


def _send(task, argument):
    from rally.celery import app

    try:
        app.send_task(task, args=[argument])
    except Exception:  # the sweeper picks it up
        logger.warning("could not enqueue %s for %s", task, argument)


# Reading (workers) ---------------------------------------------------------------------------


def _zone_of(user):
    return ZoneInfo(user.time_zone if time_zone_is_known(user.time_zone) else "UTC")


def host_calendar_sync(*, calendar_id):
    """Read one calendar now and record the result (the worker's job). Network first, then a
    short transaction; a read that finds the calendar changed meanwhile is discarded."""
    row = HostCalendar.objects.select_related("user").filter(pk=calendar_id).first()
    if row is None:
        return None
    seen = _credentials(row)
    now = clock.now()
    start, end = now - READ_BEHIND, now + READ_AHEAD
    zone = _zone_of(row.user)
    try:
        if row.kind == HostCalendar.Kind.CALDAV:
            result = calendar_reading.caldav_read(
                url=row.server_url, username=row.username,
                password=decrypt(row.password_encrypted), start=start, end=end, zone=zone)
        else:
            result = calendar_reading.feed_read(url=decrypt(row.feed_url_encrypted),
                                                start=start, end=end, zone=zone)
    except UnreadableSecret:
        return _read_failed(calendar_id, seen, "Rally can no longer read the stored password "
                                               "or address. Connect the calendar again.")
    except CalendarUnreadable as error:
        return _read_failed(calendar_id, seen, error.message)
    return _read_succeeded(calendar_id, seen, result)


@transaction.atomic(durable=True)
def _read_succeeded(calendar_id, seen, result):
    row = HostCalendar.objects.select_for_update().select_related("user").filter(
        pk=calendar_id).first()
    if row is None or _credentials(row) != seen:
        return row
    now = clock.now()
    HostBusyInterval.objects.filter(user_id=row.user_id).delete()
    HostBusyInterval.objects.bulk_create([
        HostBusyInterval(user_id=row.user_id, starts_at=busy.start, ends_at=busy.end)
        for busy in result.busy])
    was_failing = row.state == HostCalendar.State.FAILING
    found = [{"url": c.url, "name": c.name} for c in result.calendars]
    if row.kind == HostCalendar.Kind.CALDAV:
        row.calendars = found
        if row.write_calendar_url and row.write_calendar_url not in {c["url"] for c in found}:
            row.write_calendar_url = ""  # the chosen calendar was deleted on the server
    row.state, row.last_error = HostCalendar.State.OK, ""
    row.last_read_at = row.last_attempt_at = now
    row.failing_since = row.failure_reported_at = None
    row.sync_claimed_until = None
    row.save()
    if was_failing:
        _everywhere(row.user, actor_label=SYNC_ACTOR, action="calendar.readable_again",
                    summary=f"{row.user.display_name}'s calendar can be read again")
    return row


@transaction.atomic(durable=True)
def _read_failed(calendar_id, seen, message):
    row = HostCalendar.objects.select_for_update().select_related("user").filter(
        pk=calendar_id).first()
    if row is None or _credentials(row) != seen:
        return row
    now = clock.now()
    row.state, row.last_error = HostCalendar.State.FAILING, message[:300]
    row.last_attempt_at = now
    row.failing_since = row.failing_since or now
    row.sync_claimed_until = None
    if row.failure_reported_at is None:
        row.failure_reported_at = now
        _everywhere(row.user, actor_label=SYNC_ACTOR, action="calendar.unreadable",
                    summary=f"{row.user.display_name}'s calendar cannot be read: {message} "
                            f"Their last known busy times are still used.",
                    data={"error": message})
    row.save()
    return row


def host_calendars_due(*, now, limit=100):
    """Calendars to read now: never read, asked for, or not read for SYNC_EVERY."""
    return list(HostCalendar.objects.filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=now - SYNC_EVERY)
        | Q(refresh_requested_at__gt=F("last_attempt_at")),
    ).filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .order_by(F("last_attempt_at").asc(nulls_first=True)).values_list("pk", flat=True)[:limit])


def host_calendar_claim(*, calendar_id, now):
    """Compare-and-swap: one worker reads a calendar at a time."""
    return HostCalendar.objects.filter(
        Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now), pk=calendar_id,
    ).update(sync_claimed_until=now + SYNC_CLAIM) == 1


def host_calendars_sync_due():
    """The periodic sweep: read every calendar that is due, each claimed first."""
    done = 0
    for calendar_id in host_calendars_due(now=clock.now()):
        if host_calendar_claim(calendar_id=calendar_id, now=clock.now()):
            host_calendar_sync(calendar_id=calendar_id)
            done += 1
    return done


# What pages show ------------------------------------------------------------------------------


def host_calendar_of(user):
    return HostCalendar.objects.filter(user=user).first()


def host_busy_upcoming_count(user, *, now):
    return HostBusyInterval.objects.filter(user=user, ends_at__gt=now).count()


@dataclass(frozen=True)
class CalendarFlag:
    host_name: str
    error: str
    failing_since: object
    last_read_at: object


def calendar_flags_for_hosts(host_ids):
    """Hosts whose calendar cannot be read (the Scheduling tab's warning)."""
    rows = (HostCalendar.objects.filter(user_id__in=host_ids, state=HostCalendar.State.FAILING)
            .select_related("user").order_by("user__name", "user__email"))
    return [CalendarFlag(row.user.display_name, row.last_error, row.failing_since,
                         row.last_read_at) for row in rows]


def last_read_words(row, *, now):
    if row.last_read_at is None:
        return "never"
    if now - row.last_read_at < timedelta(minutes=1):
        return "just now"
    return f"{timesince(row.last_read_at, now, depth=1)} ago"


# Writing sessions back (workers) ----------------------------------------------------------------


def session_calendar_text(session, *, now):
    """The session as a stored calendar object (RFC 4791 4.1: no METHOD; no attendees, so the
    server sends nobody an invitation on Rally's behalf)."""
    study = session.study
    participant = session.application.participant.display_name
    event = icalendar.Event()
    event.add("UID", session.ics_uid)
    event.add("SEQUENCE", session.sequence)
    event.add("DTSTAMP", now)
    event.add("DTSTART", session.starts_at)
    event.add("DTEND", session.ends_at)
    event.add("SUMMARY", f"{study.name}: session with {participant}")
    description = f"Rally session for the study “{study.name}” with {participant}."
    if session.meeting_url:
        description += f"\nMeeting link: {session.meeting_url}"
        event.add("URL", session.meeting_url)
        event.add("LOCATION", session.meeting_url)
    elif session.location:
        description += f"\nAddress: {session.location}"
        event.add("LOCATION", session.location)
    event.add("DESCRIPTION", description)
    event.add("STATUS", "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Rally//Scheduling//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def session_calendar_write_after_commit(session):
    session_id = str(session.pk)
    transaction.on_commit(lambda: _send(WRITE_TASK, session_id))


def _writer_calendar(user_id):
    if user_id is None:
        return None
    return HostCalendar.objects.filter(user_id=user_id, kind=HostCalendar.Kind.CALDAV).first()


def _write_args(calendar):
    return {"url": calendar.server_url, "username": calendar.username,
            "password": decrypt(calendar.password_encrypted)}


def session_calendar_write(*, session_id):
    """Bring the host's calendar in line with the session: create, move or delete its event.

    Network calls happen outside any transaction; each outcome is recorded right after it,
    so a crash re-does at most one idempotent PUT or DELETE. Raises CalendarUnreadable when
    the server refuses (the task retries; the sweeper tries again later).
    """
    session = (Session.objects.select_related("study", "application__participant")
               .filter(pk=session_id).first())
    if session is None or session.calendar_sequence_written >= session.sequence:
        return False
    sequence = session.sequence
    target = _writer_calendar(session.host_id)
    wanted = ""
    if (target is not None and target.write_calendar_url
            and session.status == Session.Status.UPCOMING):
        wanted = calendar_reading.caldav_event_url(target.write_calendar_url, session.ics_uid)
    try:
        if session.calendar_event_url and (session.calendar_event_url != wanted or
                                           session.calendar_event_owner_id != session.host_id):
            owner = _writer_calendar(session.calendar_event_owner_id)
            if owner is not None:
                calendar_reading.caldav_event_delete(event_url=session.calendar_event_url,
                                                     **_write_args(owner))
            Session.objects.filter(pk=session.pk).update(calendar_event_url="",
                                                         calendar_event_owner=None)
        if wanted:
            calendar_reading.caldav_event_put(
                event_url=wanted, text=session_calendar_text(session, now=clock.now()),
                **_write_args(target))
            Session.objects.filter(pk=session.pk).update(calendar_event_url=wanted,
                                                         calendar_event_owner=session.host_id)
    except UnreadableSecret as error:
        raise CalendarUnreadable("Rally can no longer read the stored password.") from error
    Session.objects.filter(pk=session.pk, calendar_sequence_written__lt=sequence).update(
        calendar_sequence_written=sequence)
    return True


def session_calendar_writes_due(*, now, grace=timedelta(minutes=2), limit=200):
    """Sessions whose write-back is due a while after the change (a lost or failed write)."""
    writers = HostCalendar.objects.filter(kind=HostCalendar.Kind.CALDAV).exclude(
        write_calendar_url="").values("user_id")
    return list(Session.objects.filter(
        Q(host_id__in=writers) | ~Q(calendar_event_url=""),
        calendar_sequence_written__lt=F("sequence"),
        updated_at__lte=now - grace, ends_at__gt=now - timedelta(days=1),
    ).order_by("updated_at").values_list("pk", flat=True)[:limit])

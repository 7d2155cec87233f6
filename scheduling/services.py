"""Scheduling writes: availability settings, booking, rescheduling, canceling, marking.

Every top-level use case is one durable transaction that locks the application (and the
group time, for groups), re-checks the offered slots inside the lock, and lets the database's
exclusion constraint settle the last race. Calendar invites leave after commit.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse

from billing.payouts import (
    PayoutRefused,
    payout_hold,
    payout_reopen,
    payout_schedule,
    payout_send_now,
)
from participants.consent import (
    consent_agree,
    consent_asked,
    consent_booking_problem,
    consent_version_parse,
)
from participants.models import Application, ConsentAgreement
from participants.services import study_ui_intake_sync
from rally import clock, notifications
from rally.models import Membership, OutboxOperation, User
from rally.permissions import Permission, require
from rally.services import activity_record, outbox_enqueue
from scheduling import ics, reminders
from scheduling.host_calendars import session_calendar_write_after_commit
from scheduling.models import (
    DEFAULT_WEEKLY_HOURS,
    MEETING_PATTERN_PLACEHOLDER,
    REMINDERS_UI_REASON,
    ROLLING_UNAVAILABLE_REASON,
    GroupSlot,
    HostBusyInterval,
    LocationKind,
    SchedulingSettings,
    Session,
    default_date_range,
    meeting_url_from_pattern,
    weekly_hours_to_json,
)
from scheduling.slots import (
    AvailabilityError,
    GroupOpening,
    Interval,
    date_range_validate,
    slot_find,
    slots_available,
    time_zone_is_known,
    weekly_hours_validate,
)
from studies.lifecycle import study_on_team
from studies.models import Status as StudyStatus
from studies.models import Study, StudyType
from studies.selectors import study_people

BOOKING_TOKEN_SALT = "scheduling.booking-link"  # noqa: S105 - a salt, not a secret
BOOKING_STATUSES = {Application.Status.INVITED}
CLOSED_MESSAGE = "This study is closed, so sessions can no longer be booked or rescheduled."
logger = logging.getLogger(__name__)
TAKEN_MESSAGE = "That time was just taken — here are the times still free."


class SchedulingError(Exception):
    """A refusal with a message meant for the person who asked."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class SlotTaken(SchedulingError):
    """Someone else got the time first (409 for machines)."""


class BookingRefused(SchedulingError):
    """The time or the request cannot be accepted (not offered, too soon, study closed…)."""


class InvalidBookingLink(SchedulingError):
    def __init__(self, message, *, expired=False):
        super().__init__(message)
        self.expired = expired


# Booking links -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """What a booking link proves: the holder was invited to this application."""

    application_id: str
    token: str


def booking_token_make(application):
    return signing.dumps({"application": str(application.pk)}, salt=BOOKING_TOKEN_SALT,
                         compress=True)


def booking_url_for(application):
    """The absolute booking link for an invited application (sent to UI as schedulingUrl)."""
    path = reverse("scheduling:booking", kwargs={"token": booking_token_make(application)})
    return settings.RALLY_BASE_URL.rstrip("/") + path


def invitation_from_token(token):
    try:
        data = signing.loads(token, salt=BOOKING_TOKEN_SALT, max_age=_link_max_age())
    except signing.SignatureExpired as exc:
        raise InvalidBookingLink("This booking link has expired. Ask the research team for "
                                 "a new one.", expired=True) from exc
    except signing.BadSignature as exc:
        raise InvalidBookingLink("This booking link is not valid. Check that you copied the "
                                 "whole link from your invitation.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("application"), str):
        raise InvalidBookingLink("This booking link is not valid.")
    return Invitation(application_id=data["application"], token=token)


def _link_max_age():
    return timedelta(days=getattr(settings, "BOOKING_LINK_MAX_AGE_DAYS", 120))


# Settings ------------------------------------------------------------------------------------


def _zone_or_utc(name):
    return name if time_zone_is_known(name) else "UTC"


def _settings_default(study):
    """The C1 default: the owner's zone, the coming weeks, weekday hours."""
    zone = _zone_or_utc(study.owner.time_zone)
    start, end = default_date_range(clock.now().astimezone(ZoneInfo(zone)).date())
    return {"time_zone": zone, "start_date": start, "end_date": end,
            "weekly_hours": DEFAULT_WEEKLY_HOURS, "updated_at": clock.now()}


def scheduling_settings_ensure(*, study):
    """The study's scheduling settings, created with the C1 default the first time (write
    paths; pages read them with `scheduling_settings_read`)."""
    existing = SchedulingSettings.objects.filter(study=study).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        row, created = SchedulingSettings.objects.get_or_create(
            study=study, defaults=_settings_default(study))
        if created:
            row.hosts.add(study.owner)
    return row


def scheduling_settings_read(*, study):
    """The study's scheduling settings to show: the saved row, or until someone saves, the
    C1 default, not saved (a GET never writes). Read its people with `settings_hosts` and
    `settings_guests`."""
    existing = SchedulingSettings.objects.filter(study=study).first()
    if existing is not None:
        return existing
    return SchedulingSettings(study=study, **_settings_default(study))


def settings_hosts(scheduling):
    """The hosts, by name: the study's owner while the settings are the unsaved default."""
    if scheduling._state.adding:  # its UUID is set before it is saved
        return [scheduling.study.owner]
    return list(scheduling.hosts.order_by("name", "email"))


def settings_guests(scheduling):
    return [] if scheduling._state.adding else list(scheduling.guests.all())


def scheduling_settings_copy(*, source, target):
    """Copy scheduling settings onto a study made from `source`; part of
    `recruitment.workflows.study_copy`. Hosts stay only if they are on the target's team."""
    original = SchedulingSettings.objects.filter(study=source).first()
    if original is None:
        return
    team = {user.pk for user in target.team.all()} | {target.owner_id}
    hosts = [user for user in original.hosts.all() if user.pk in team] or [target.owner]
    copied = ("time_zone", "start_date", "end_date", "rolling_days", "weekly_hours",
              "unavailable_dates", "buffer_minutes", "minimum_notice_minutes", "group_capacity",
              "location_kind", "meeting_url", "meeting_url_pattern", "address", "reminder_hours")
    row, _ = SchedulingSettings.objects.update_or_create(study=target, defaults={
        field: getattr(original, field) for field in copied} | {"updated_at": clock.now()})
    row.hosts.set(hosts)
    row.guests.set(original.guests.all())


@dataclass
class SettingsInput:
    hosts: list
    time_zone: str
    start_date: date | None
    end_date: date | None
    rolling_days: int | None
    weekly_hours: dict  # weekday -> [(time, time)]
    unavailable_dates: list
    buffer_minutes: int
    minimum_notice_minutes: int
    group_capacity: int
    meeting_url: str = ""
    guests: list = None
    location_kind: str = LocationKind.FIXED_LINK
    meeting_url_pattern: str = ""
    address: str = ""
    # Hours before each session its Rally-panel participant is reminded (None: unchanged).
    reminder_hours: list = None


def team_members(study):
    return list(User.objects.filter(Q(pk=study.owner_id) | Q(team_studies=study)).distinct()
                .order_by("name", "email"))


@transaction.atomic(durable=True)
def scheduling_settings_update(*, membership, study, data: SettingsInput):
    """Save the Scheduling tab; every problem is reported by field and nothing is saved."""
    study = Study.objects.select_for_update().filter(
        pk=study.pk, workspace_id=membership.workspace_id).first()
    if study is None:
        raise PermissionDenied
    require(membership, Permission.EDIT_STUDY)
    if study.status == StudyStatus.CLOSED:
        raise ValidationError(CLOSED_MESSAGE)
    errors = {}
    team = {user.pk: user for user in team_members(study)}
    if not data.hosts:
        errors["hosts"] = "Choose at least one host."
    elif any(host.pk not in team for host in data.hosts):
        errors["hosts"] = "Hosts must be on the study team."
    if not time_zone_is_known(data.time_zone):
        errors["time_zone"] = f"“{data.time_zone}” is not a time zone we know. Pick one."
    if data.rolling_days is not None and study.is_user_interviews:
        errors["rolling_days"] = ROLLING_UNAVAILABLE_REASON
    if data.start_date is None:
        errors["start_date"] = "Enter the first day sessions can happen."
    if data.end_date is None:
        errors["end_date"] = "Enter the last day sessions can happen."
    if data.start_date and data.end_date:
        try:
            date_range_validate(data.start_date, data.end_date)
        except AvailabilityError as exc:
            errors["end_date"] = str(exc)
    try:
        weekly_hours_validate(data.weekly_hours)
    except AvailabilityError as exc:
        errors["weekly_hours"] = str(exc)
    if not any(data.weekly_hours.values()):
        errors["weekly_hours"] = "Add at least one interval of available hours."
    if not 0 <= data.buffer_minutes <= 240:
        errors["buffer_minutes"] = "Enter a buffer from 0 to 240 minutes."
    if not 0 <= data.minimum_notice_minutes <= 60 * 24 * 30:
        errors["minimum_notice_minutes"] = "Enter a minimum notice from 0 to 30 days."
    if not 1 <= data.group_capacity <= 50:
        errors["group_capacity"] = "Enter a capacity from 1 to 50 participants."
    errors.update(_meeting_place_errors(data))
    reminder_hours = None
    if data.reminder_hours is not None:
        try:
            reminder_hours = reminders.reminder_hours_parse(data.reminder_hours)
        except ValueError:
            errors["reminder_hours"] = "Choose reminders among the listed times."
        else:
            if reminder_hours and not reminders.reminders_apply_to(study):
                errors["reminder_hours"] = REMINDERS_UI_REASON
    if errors:
        raise ValidationError(errors)
    row = scheduling_settings_ensure(study=study)
    row = SchedulingSettings.objects.select_for_update().get(pk=row.pk)
    row.time_zone = data.time_zone
    row.start_date, row.end_date = data.start_date, data.end_date
    row.rolling_days = data.rolling_days
    row.weekly_hours = weekly_hours_to_json(data.weekly_hours)
    row.unavailable_dates = sorted(set(data.unavailable_dates))
    row.buffer_minutes = data.buffer_minutes
    row.minimum_notice_minutes = data.minimum_notice_minutes
    row.group_capacity = data.group_capacity
    row.location_kind = data.location_kind
    row.meeting_url = data.meeting_url
    row.meeting_url_pattern = data.meeting_url_pattern.strip()
    row.address = data.address.strip()
    reminders_changed = reminder_hours is not None and reminder_hours != row.reminder_hours
    if reminder_hours is not None:
        row.reminder_hours = reminder_hours
    row.updated_at = clock.now()
    row.save()
    row.hosts.set(data.hosts)
    row.guests.set(data.guests or [])
    if reminders_changed:
        reminders.study_reminders_replan(study=study, scheduling=row, now=row.updated_at)
    activity_record(workspace=study.workspace, actor=membership.user,
                    action="scheduling.updated", study_id=study.id,
                    summary=f"Updated the scheduling settings of “{study.name}”",
                    data={"time_zone": row.time_zone, "hosts": [str(h.pk) for h in data.hosts]})
    return row


def meeting_url_pattern_problem(pattern):
    """Why a per-session link pattern cannot work, or "" when it can."""
    from django.core.validators import URLValidator

    if MEETING_PATTERN_PLACEHOLDER not in pattern:
        return (f"Put {MEETING_PATTERN_PLACEHOLDER} where each session's own id goes, like "
                f"https://meet.jit.si/rally-{MEETING_PATTERN_PLACEHOLDER}.")
    example = meeting_url_from_pattern(pattern, "0b5e6f0c-7d4e-4b8f-9a51-2c3d4e5f6a7b")
    if "{" in example or "}" in example:
        return f"The only placeholder is {MEETING_PATTERN_PLACEHOLDER}."
    try:
        URLValidator(schemes=["https", "http"])(example)
    except ValidationError:
        return "The pattern must make a web address starting with https://."
    if len(example) > 200:
        return "The links it makes must be 200 characters or fewer."
    return ""


def _meeting_place_errors(data):
    if data.location_kind not in LocationKind.values:
        return {"location_kind": "Choose where sessions happen."}
    if data.location_kind == LocationKind.LINK_PATTERN:
        problem = meeting_url_pattern_problem(data.meeting_url_pattern.strip())
        return {"meeting_url_pattern": problem} if problem else {}
    if data.location_kind == LocationKind.IN_PERSON and not data.address.strip():
        return {"address": "Enter the address where participants meet you."}
    return {}


# Slots for a study ---------------------------------------------------------------------------


def study_slots(*, study, scheduling, now, exclude_session=None, ignore_busy=False):
    """The free slots of a study at `now`, read from the database and run through the engine.

    Busy time is every Upcoming session and open group time of each host, in any study, and
    the busy time of each host's own calendar.
    `exclude_session` leaves one session out (its own time while rescheduling).
    """
    hosts = settings_hosts(scheduling)
    host_ids = [host.pk for host in hosts]
    host_busy = {host_id: [] for host_id in host_ids}
    group = study.study_type == StudyType.GROUP_INTERVIEW
    openings = []
    if not ignore_busy:
        horizon = now - timedelta(days=1)
        sessions = Session.objects.filter(host_id__in=host_ids, status=Session.Status.UPCOMING,
                                          ends_at__gt=horizon, group_slot__isnull=True)
        if exclude_session is not None:
            sessions = sessions.exclude(pk=exclude_session.pk)
        for host_id, start, end in sessions.values_list("host_id", "starts_at", "ends_at"):
            host_busy[host_id].append(Interval(start, end))
        group_slots = GroupSlot.objects.filter(
            Q(host_id__in=host_ids) | Q(study=study), is_open=True, ends_at__gt=horizon,
        ).annotate(seats=Count("sessions", filter=Q(sessions__status=Session.Status.UPCOMING)
                               & ~Q(sessions__pk=getattr(exclude_session, "pk", None))))
        for slot in group_slots:
            if group and slot.study_id == study.pk:
                openings.append(GroupOpening(slot.starts_at, slot.ends_at,
                                             max(slot.capacity - slot.seats, 0), slot.host_id))
            elif slot.host_id in host_busy and slot.seats > 0:
                host_busy[slot.host_id].append(Interval(slot.starts_at, slot.ends_at))
        # The hosts' own calendars, as last read (kept while a calendar cannot be read).
        own_calendars = HostBusyInterval.objects.filter(user_id__in=host_ids,
                                                        ends_at__gt=horizon)
        for host_id, start, end in own_calendars.values_list("user_id", "starts_at",
                                                             "ends_at"):
            host_busy[host_id].append(Interval(start, end))
    today = now.astimezone(ZoneInfo(scheduling.time_zone)).date()
    return slots_available(
        availability=scheduling.availability(today=today),
        duration_minutes=study.duration_minutes, now=now, hosts=host_ids,
        host_busy=host_busy, capacity=scheduling.group_capacity if group else 1,
        group_openings=openings)


def _refuse_unoffered(*, study, scheduling, now, starts_at):
    """Why `starts_at` is not offered: a BookingRefused for bad times, SlotTaken otherwise."""
    if starts_at <= now:
        raise BookingRefused("That time has already passed. Choose one of the times below.")
    notice = timedelta(minutes=scheduling.minimum_notice_minutes)
    if starts_at < now + notice:
        raise BookingRefused(f"That time is too soon: sessions need {_duration_words(notice)} "
                             f"notice. Choose one of the times below.")
    every = study_slots(study=study, scheduling=scheduling, now=now, ignore_busy=True)
    if slot_find(every, starts_at) is None:
        raise BookingRefused("That time is not one of the available times. Choose one of "
                             "the times below.")
    raise SlotTaken(TAKEN_MESSAGE)


def _duration_words(delta):
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


# Booking -------------------------------------------------------------------------------------


def _application_locked(invitation):
    application = (Application.objects.select_for_update(of=("self",))
                   .select_related("study", "study__workspace", "study__owner", "participant")
                   .filter(pk=invitation.application_id).first())
    if application is None:
        raise InvalidBookingLink("This booking link is not valid any more.")
    return application


def _require_open(study):
    if study.status == StudyStatus.CLOSED:
        raise BookingRefused(CLOSED_MESSAGE)
    if study.study_type not in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW):
        raise BookingRefused("This study has no sessions to book.")


def _application_status_follow(application, status):
    """Keep the application's status in step with its session (participants' P4 statuses)."""
    application.status = status
    application.updated_at = clock.now()
    application.save(update_fields=["status", "updated_at"])
    # A seat taken or freed: UI stops or resumes sending applicants (SPEC R6).
    study_ui_intake_sync(study=application.study)


def _ui_outbox(*, session, operation, subject=None, **extra):
    """Tell User Interviews about the session (UI studies only; panel studies have no UI)."""
    if not session.study.is_user_interviews:
        return None
    return outbox_enqueue(
        workspace=session.study.workspace, operation=operation,
        subject=subject or str(session.pk), study_id=session.study_id,
        payload={"session_id": str(session.pk), "application_id": str(session.application_id),
                 "study_id": str(session.study_id), **extra})


def _participant_actor(application):
    return f"participant:{application.participant.display_name}"


def _group_seat_take(*, study, scheduling, slot, now):
    """Lock the group time at `slot` (creating or reopening it) and take one seat."""
    GroupSlot.objects.bulk_create(
        [GroupSlot(study=study, host_id=slot.host, starts_at=slot.starts_at,
                   ends_at=slot.ends_at, capacity=scheduling.group_capacity, created_at=now)],
        ignore_conflicts=True)
    group_slot = GroupSlot.objects.select_for_update().filter(
        study=study, starts_at=slot.starts_at).first()
    if group_slot is None:
        raise SlotTaken(TAKEN_MESSAGE)  # the host got busy at that time meanwhile
    if not group_slot.is_open:
        group_slot.is_open = True
        group_slot.host_id = slot.host
        group_slot.ends_at = slot.ends_at
        group_slot.capacity = scheduling.group_capacity
        try:
            with transaction.atomic():
                group_slot.save(update_fields=["is_open", "host", "ends_at", "capacity"])
        except IntegrityError as exc:
            raise SlotTaken(TAKEN_MESSAGE) from exc
    seats = group_slot.sessions.filter(status=Session.Status.UPCOMING).count()
    if seats >= group_slot.capacity:
        raise SlotTaken(TAKEN_MESSAGE)
    _group_event_changed(group_slot, now=now)
    return group_slot


def _group_event_changed(group_slot, *, now):
    """Someone joins or leaves: the group's one calendar event gets a new revision (its
    guest list), sent to the hosts' calendars after commit (SPEC C7)."""
    group_slot.sequence += 1
    group_slot.updated_at = now
    group_slot.save(update_fields=["sequence", "updated_at"])
    transaction.on_commit(lambda: invite_dispatch(group_slot_id=group_slot.pk))


def _group_seat_release(group_slot):
    if group_slot is None:
        return
    group_slot = GroupSlot.objects.select_for_update().get(pk=group_slot.pk)
    if not group_slot.sessions.filter(status=Session.Status.UPCOMING).exists():
        group_slot.is_open = False
        group_slot.save(update_fields=["is_open"])
    _group_event_changed(group_slot, now=clock.now())


def _place(*, session, study, scheduling, starts_at, now):
    """Put `session` at `starts_at` (host and group chosen here), or raise SlotTaken.

    Interviews try each free host in turn: the exclusion constraint refuses a host whom a
    concurrent booking took a moment ago, and the next free host (if any) is tried.
    """
    old_group = session.group_slot if session.pk else None
    for _ in range(5):
        slots = study_slots(study=study, scheduling=scheduling, now=now,
                            exclude_session=session if session.pk else None)
        slot = slot_find(slots, starts_at)
        if slot is None:
            _refuse_unoffered(study=study, scheduling=scheduling, now=now, starts_at=starts_at)
        session.starts_at, session.ends_at, session.host_id = (slot.starts_at, slot.ends_at,
                                                               slot.host)
        if study.study_type == StudyType.GROUP_INTERVIEW:
            group_slot = _group_seat_take(study=study, scheduling=scheduling, slot=slot, now=now)
            session.group_slot = group_slot
            session.host_id = group_slot.host_id
            session.ends_at = group_slot.ends_at
        session.updated_at = now
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError:
            continue
        if old_group is not None and old_group.pk != getattr(session.group_slot, "pk", None):
            _group_seat_release(old_group)
        return session
    raise SlotTaken(TAKEN_MESSAGE)


@transaction.atomic(durable=True)
def session_book(*, invitation, starts_at, time_zone=""):
    """Book the invited participant at `starts_at` (an offered slot), once."""
    application = _application_locked(invitation)
    study = application.study
    _require_open(study)
    consent_problem = consent_booking_problem(study=study, participant=application.participant)
    if consent_problem:
        raise BookingRefused(consent_problem)
    if application.sessions.filter(status=Session.Status.UPCOMING).exists():
        raise BookingRefused("You already have a session booked. Reschedule it instead.")
    if application.status not in BOOKING_STATUSES:
        raise BookingRefused("This invitation cannot be used to book a session any more.")
    scheduling = scheduling_settings_ensure(study=study)
    now = clock.now()
    session = Session(workspace_id=study.workspace_id, study=study, application=application,
                      participant_time_zone=_zone_or_blank(time_zone),
                      created_at=now, updated_at=now, status_changed_at=now)
    session.meeting_url, session.location = scheduling.meeting_place_for(session.pk)
    session = _place(session=session, study=study, scheduling=scheduling,
                     starts_at=starts_at, now=now)
    if session.group_slot_id is not None:
        # A group meets in one room: the per-session link is made from the group's id.
        session.meeting_url, session.location = scheduling.meeting_place_for(
            session.group_slot_id)
        session.save(update_fields=["meeting_url", "location"])
    session.guests.set(scheduling.guests.all())
    reminders.session_reminders_plan(session=session, study=study, scheduling=scheduling,
                                     now=now)
    _application_status_follow(application, Application.Status.SCHEDULED)
    _ui_outbox(session=session, operation="create_session")
    activity_record(workspace=study.workspace, actor_label=_participant_actor(application),
                    action="session.booked", study_id=study.id,
                    summary=f"{application.participant.display_name} booked a session on "
                            f"{_utc_words(session.starts_at)}",
                    data={"session": str(session.pk), "starts_at": session.starts_at.isoformat()})
    _session_notify(session, kind=notifications.Kind.SESSION_BOOKED,
                    text=f"{application.participant.display_name} booked a session of "
                         f"“{study.name}” for {{when}}")
    _invite_after_commit(session, method=ics.REQUEST)
    return session


def _session_notify(session, *, kind, text, actor=None):
    """Tell the study's team and the session's host (SPEC N1), but not `actor`, who made the
    change; `{when}` in `text` is said in each reader's own time zone."""
    study = session.study
    notifications.notify(exclude=[actor] if actor is not None else (),
        workspace=study.workspace_id, kind=kind, study_id=study.pk,
        recipients=[*study_people(study, permission=Permission.VIEW, team_only=True),
                    session.host_id],
        text=text, link=reverse("scheduling:study_scheduling", args=[study.pk]),
        data={"study": study.name, "session": str(session.pk),
              "when": session.starts_at.isoformat()})


@transaction.atomic(durable=True)
def booking_consent_agree(*, invitation, version_number):
    """The participant agrees, on their booking page, to the study's consent form (SPEC P7):
    people invited to book without having agreed on the screener (a reviewer invited them,
    or the form came later) agree here before they can book."""
    application = _application_locked(invitation)
    study = application.study
    _require_open(study)
    if consent_asked(study) is None:
        raise BookingRefused("This study has no consent form to agree to.")
    try:
        version = consent_version_parse(study=study, value=version_number)
    except ValidationError as error:
        raise BookingRefused(error.message_dict["consent"][0]) from None
    agreement, _created = consent_agree(study=study, participant=application.participant,
                                        version=version, application=application,
                                        channel=ConsentAgreement.Channel.BOOKING_PAGE)
    return agreement


def _zone_or_blank(name):
    return name if time_zone_is_known(name) else ""


def _utc_words(moment):
    return moment.astimezone(ZoneInfo("UTC")).strftime("%a %d %b %Y, %H:%M UTC")


def _upcoming_session_locked(application):
    session = (Session.objects.select_for_update(of=("self",))
               .select_related("group_slot", "study", "study__workspace")
               .filter(application=application, status=Session.Status.UPCOMING).first())
    if session is None:
        raise BookingRefused("You have no upcoming session to change.")
    return session


@transaction.atomic(durable=True)
def session_reschedule(*, invitation, starts_at, time_zone=""):
    """Move the participant's upcoming session to another offered time, before it starts."""
    application = _application_locked(invitation)
    study = application.study
    _require_open(study)
    session = _upcoming_session_locked(application)
    now = clock.now()
    if now >= session.starts_at:
        raise BookingRefused("This session has already started, so it can no longer be "
                             "rescheduled.")
    if starts_at == session.starts_at:
        raise BookingRefused("Your session is already at that time. Choose another time.")
    scheduling = scheduling_settings_ensure(study=study)
    previous = session.starts_at
    session.sequence += 1
    if time_zone:
        session.participant_time_zone = _zone_or_blank(time_zone)
    session = _place(session=session, study=study, scheduling=scheduling, starts_at=starts_at,
                     now=now)
    reminders.session_reminders_plan(session=session, study=study, scheduling=scheduling,
                                     now=now)
    _ui_outbox(session=session, operation="reschedule_session",
               subject=f"{session.pk}:{session.sequence}")
    activity_record(workspace=study.workspace, actor_label=_participant_actor(application),
                    action="session.rescheduled", study_id=study.id,
                    summary=f"{application.participant.display_name} moved their session from "
                            f"{_utc_words(previous)} to {_utc_words(session.starts_at)}",
                    data={"session": str(session.pk), "from": previous.isoformat(),
                          "to": session.starts_at.isoformat()})
    _session_notify(session, kind=notifications.Kind.SESSION_RESCHEDULED,
                    text=f"{application.participant.display_name} moved their session of "
                         f"“{study.name}” to {{when}}")
    _invite_after_commit(session, method=ics.REQUEST)
    return session


@transaction.atomic(durable=True)
def session_cancel(*, invitation):
    """The participant cancels their upcoming session, until it starts."""
    application = _application_locked(invitation)
    session = _upcoming_session_locked(application)
    now = clock.now()
    if now >= session.starts_at:
        raise BookingRefused("This session has already started, so it can no longer be "
                             "canceled.")
    _status_set(session, Session.Status.CANCELED, now=now)
    session.sequence += 1
    session.save(update_fields=["sequence"])
    reminders.session_reminders_withdraw(session=session, now=now,
                                         reason="The participant canceled the session.")
    _group_seat_release(session.group_slot)
    _application_status_follow(application, Application.Status.CANCELED)
    _ui_outbox(session=session, operation="cancel_session")
    activity_record(workspace=session.study.workspace,
                    actor_label=_participant_actor(application), action="session.canceled",
                    study_id=session.study_id,
                    summary=f"{application.participant.display_name} canceled their session "
                            f"on {_utc_words(session.starts_at)}",
                    data={"session": str(session.pk)})
    _session_notify(session, kind=notifications.Kind.SESSION_CANCELED,
                    text=f"{application.participant.display_name} canceled their session of "
                         f"“{session.study.name}” on {{when}}")
    _invite_after_commit(session, method=ics.CANCEL)
    return session


def _session_locked_for(membership, session_id, *related):
    """A session of the member's workspace and its application, locked in the order the
    participant's own changes take them (application, then session), so a host's action
    racing one waits instead of deadlocking. Raises Session.DoesNotExist outside it."""
    sessions = Session.objects.filter(pk=session_id,
                                      workspace_id=getattr(membership, "workspace_id", None))
    application_id = sessions.values_list("application_id", flat=True).first()
    if application_id is None:
        raise Session.DoesNotExist
    application = Application.objects.select_for_update().get(pk=application_id)
    session = (sessions.select_for_update(of=("self",))
               .select_related("study", "study__workspace", "study__owner",
                               "application__participant", *related).get())
    return application, session


HOST_CHANGES = {
    "cancel": ("session.canceled_by_host", "Canceled {name}'s session on {when}: {name} is "
               "told and may book another time from their booking link (the seat is kept)"),
    "reschedule": ("session.reschedule_requested", "Asked {name} to choose a new time for "
                   "the session on {when} (the seat is kept)"),
}


@transaction.atomic(durable=True)
def session_cancel_by_host(*, membership, session_id, reason="cancel"):
    """Before an Upcoming session starts, a host cancels it or asks for another time
    (SPEC C5): the session is canceled, the participant told (through UI for UI
    participants, by the outbox) and may book again from their booking link; the seat is
    kept (the application is Invited again). `reason` is "cancel" or "reschedule"."""
    if reason not in HOST_CHANGES:
        raise BookingRefused("Choose Cancel or Reschedule.")
    application, session = _session_locked_for(membership, session_id, "group_slot")
    if not session_may_be_marked_by(membership, session):
        raise PermissionDenied
    if session.status != Session.Status.UPCOMING:
        raise BookingRefused(f"A {session.get_status_display()} session cannot be canceled "
                             f"or rescheduled.")
    now = clock.now()
    if now >= session.starts_at:
        raise BookingRefused("This session has already started, so it can no longer be "
                             "canceled or rescheduled.")
    _status_set(session, Session.Status.CANCELED, now=now)
    session.sequence += 1
    session.save(update_fields=["sequence"])
    reminders.session_reminders_withdraw(
        session=session, now=now, reason="A host canceled the session"
        + (" to find another time." if reason == "reschedule" else "."))
    _group_seat_release(session.group_slot)
    _application_status_follow(application, Application.Status.INVITED)
    _ui_outbox(session=session, operation="cancel_session", keep_seat=True)
    action, summary = HOST_CHANGES[reason]
    activity_record(workspace=session.study.workspace, actor=membership.user, action=action,
                    study_id=session.study_id,
                    summary=summary.format(name=session.application.participant.display_name,
                                           when=_utc_words(session.starts_at)),
                    data={"session": str(session.pk), "reason": reason})
    name, host = session.application.participant.display_name, membership.user
    _session_notify(session, kind=notifications.Kind.SESSION_CANCELED, actor=host,
                    text=(f"{host.name or host.email} canceled {name}'s session of "
                          f"“{session.study.name}” on {{when}}"
                          + (f"; {name} is asked to choose another time"
                             if reason == "reschedule" else "")))
    _invite_after_commit(session, method=ics.CANCEL)
    return session


def _status_set(session, status, *, now):
    if not session.can_become(status):
        raise BookingRefused(f"A {session.get_status_display()} session cannot become "
                             f"{Session.Status(status).label}.")
    session.status = status
    session.status_changed_at = now
    session.updated_at = now
    session.save(update_fields=["status", "status_changed_at", "updated_at"])


OUTCOMES = {
    Session.Status.COMPLETED: ("complete_session", Application.Status.COMPLETED,
                               "session.completed", "Completed"),
    Session.Status.NO_SHOW: ("no_show_session", Application.Status.NO_SHOW,
                             "session.no_show", "No-show"),
}


def session_may_be_marked_by(membership, session, *, study=None):
    """Hosts of the session, and people who may review this study's participants."""
    if membership is None or membership.workspace_id != session.workspace_id:
        return False
    if session.host_id == membership.user_id:
        return True
    return membership.allows(Permission.REVIEW_APPLICANTS,
                             on_team=study_on_team(study or session.study, membership.user))


@transaction.atomic(durable=True)
def session_mark(*, membership, session_id, status):
    """After the session's end, the host marks it Completed or No-show (SPEC C5). Until the
    incentive is sent, No-show can be marked on a Completed session and undone (marking it
    Completed again): the payout is held, then due again at its original time."""
    return _session_mark_locked(membership=membership, session_id=session_id, status=status)


def _session_mark_locked(*, membership, session_id, status, may_mark=None, undo=True):
    """`session_mark` inside the caller's transaction (also "Complete & Send payment", which
    never undoes a No-show: `undo=False`)."""
    status = Session.Status(status)
    if status not in OUTCOMES:
        raise BookingRefused("A session can be marked Completed or No-show.")
    application, session = _session_locked_for(membership, session_id)
    if not (may_mark or session_may_be_marked_by)(membership, session):
        raise PermissionDenied
    now = clock.now()
    name = session.application.participant.display_name
    if session.status == status:
        if status == Session.Status.COMPLETED and session.completed_automatically:
            session.completed_automatically = False  # the host confirms it
            session.save(update_fields=["completed_automatically"])
            activity_record(workspace=session.study.workspace, actor=membership.user,
                            action="session.confirmed", study_id=session.study_id,
                            summary=f"Confirmed {name}'s session on "
                                    f"{_utc_words(session.starts_at)} as Completed",
                            data={"session": str(session.pk)})
        return session  # marking twice has the effect of marking once
    if now < session.ends_at:
        raise BookingRefused("A session can be marked Completed or No-show after it ends.")
    if not session.can_become(status):
        raise BookingRefused(f"A {session.get_status_display()} session cannot become "
                             f"{status.label}.")
    if session.status == Session.Status.NO_SHOW and not undo:
        raise BookingRefused(f"{name}'s session was marked No-show: undo that first to pay "
                             f"the incentive.")
    undo = session.status == Session.Status.NO_SHOW
    if undo and application.status == Application.Status.REJECTED:
        raise BookingRefused(f"{name} was rejected, so the No-show cannot be undone.")
    if status == Session.Status.NO_SHOW:
        try:
            payout_hold(session_id=session.pk, actor=membership.user)
        except PayoutRefused as error:
            raise BookingRefused(error.message) from error
    _status_set(session, status, now=now)
    if session.completed_automatically:
        session.completed_automatically = False
        session.save(update_fields=["completed_automatically"])
    operation, application_status, action, label = OUTCOMES[status]
    _application_status_follow(application, application_status)
    _ui_outbox(session=session, operation=operation,
               subject=_outcome_subject(session, operation))
    if undo:
        summary = (f"Undid the No-show of {name}'s session on {_utc_words(session.starts_at)}: "
                   f"completed, the incentive is due again")
        action = "session.no_show_undone"
    else:
        summary = f"Marked {name}'s session on {_utc_words(session.starts_at)} as {label}"
    activity_record(workspace=session.study.workspace, actor=membership.user, action=action,
                    study_id=session.study_id, summary=summary,
                    data={"session": str(session.pk)})
    if status == Session.Status.COMPLETED:
        session_payout_schedule(session=session, actor=membership.user)
        payout_reopen(session_id=session.pk, actor=membership.user)
    return session


def _outcome_subject(session, operation):
    """The outbox subject of telling UI an outcome: the session the first time, numbered
    after an Undo (so the later change is a new request, not the first one replayed)."""
    earlier = OutboxOperation.objects.filter(operation=operation,
                                             payload__session_id=str(session.pk)).count()
    return str(session.pk) if not earlier else f"{session.pk}:{earlier}"


# Ended sessions nobody marked (SPEC C5, I2) -------------------------------------------------

#: Sessions one sweep completes per transaction.
SESSION_SWEEP_BATCH = 200
SESSION_SWEEPER_ACTOR = "task:session_sweeper"


@transaction.atomic(durable=True)
def sessions_complete_ended(*, limit=SESSION_SWEEP_BATCH):
    """One sweep: every Upcoming session whose end has passed counts as completed at its end
    time (SPEC C5, I2): Completed, its participant Completed, UI told, and its incentive
    payout scheduled for end + 24 h (billing's payout sweeper sends it). Claims rows with
    SKIP LOCKED (application, then session, the order every marking takes), so two sweepers
    and a host's click never complete a session twice. Returns the ids completed."""
    now = clock.now()
    candidates = list(Session.objects.filter(status=Session.Status.UPCOMING, ends_at__lte=now)
                      .order_by("ends_at", "id").values_list("application_id", flat=True)
                      [:limit])
    return _sessions_complete_locked(application_ids=candidates, now=now, skip_locked=True,
                                     actor=SESSION_SWEEPER_ACTOR)


def sessions_complete_ended_of_study(*, study_id, actor):
    """Closing a study (SPEC B5): its ended, unmarked sessions complete now, inside the
    close's transaction, so their incentives are settled (paid, not released)."""
    now = clock.now()
    candidates = list(Session.objects.filter(study_id=study_id, status=Session.Status.UPCOMING,
                                             ends_at__lte=now)
                      .values_list("application_id", flat=True))
    return _sessions_complete_locked(application_ids=candidates, now=now, skip_locked=False,
                                     actor=actor)


def _sessions_complete_locked(*, application_ids, now, skip_locked, actor):
    if not application_ids:
        return []
    applications = {application.pk: application for application in
                    Application.objects.select_for_update(skip_locked=skip_locked)
                    .filter(pk__in=application_ids)}
    sessions = list(Session.objects.select_for_update(skip_locked=skip_locked, of=("self",))
                    .select_related("study", "study__workspace", "application__participant")
                    .filter(application_id__in=list(applications),
                            status=Session.Status.UPCOMING, ends_at__lte=now)
                    .order_by("ends_at", "id"))
    for session in sessions:
        _status_set(session, Session.Status.COMPLETED, now=now)
        session.completed_automatically = True
        session.save(update_fields=["completed_automatically"])
        application = applications[session.application_id]
        if application.status == Application.Status.SCHEDULED:
            _application_status_follow(application, Application.Status.COMPLETED)
        _ui_outbox(session=session, operation="complete_session",
                   subject=_outcome_subject(session, "complete_session"))
        name = session.application.participant.display_name
        payout = session_payout_schedule(session=session, actor=actor)
        if payout is None:
            due = ""
        elif payout.paid_by_team:
            due = f"; its incentive is due on {_utc_words(payout.due_at)}, paid by the team"
        else:
            due = f"; the incentive is sent automatically on {_utc_words(payout.due_at)} " \
                  f"unless it is marked No-show"
        user, label = (None, actor) if isinstance(actor, str) else (actor, "")
        activity_record(workspace=session.study.workspace, actor=user, actor_label=label,
                        action="session.completed_automatically", study_id=session.study_id,
                        summary=f"{name}'s session on {_utc_words(session.starts_at)} ended "
                                f"unmarked and counts as completed{due}",
                        data={"session": str(session.pk)})
    return [session.pk for session in sessions]


def sessions_sweep(*, limit=SESSION_SWEEP_BATCH, max_batches=50):
    """Complete every ended, unmarked session, batch after batch. Returns how many."""
    total = 0
    for _ in range(max_batches):
        done = sessions_complete_ended(limit=limit)
        total += len(done)
        if len(done) < limit:
            break
    return total


def session_payout_schedule(*, session, actor="task:session_payout_schedule"):
    """A completed session gets its incentive payout, due 24 h after the session's end
    (SPEC I2). A User Interviews study's is sent by billing's sweeper then; a Rally-panel
    study's is paid by the team ("Mark as paid") and never sent to UI; a panel study
    without an incentive amount has none. Runs inside the marking transaction with the
    session locked; idempotent."""
    study = session.study
    paid_by_team = not study.is_user_interviews
    if paid_by_team and not study.incentive_amount:
        return None
    return payout_schedule(
        workspace=study.workspace, study_id=study.pk, study_name=study.name,
        session_id=session.pk, application_id=session.application_id,
        participant_label=session.application.participant.display_name,
        incentive=study.incentive_amount, ended_at=session.ends_at, actor=actor,
        paid_by_team=paid_by_team)


def study_incentives_payable_by(membership, study):
    """"Complete & Send payment" is for people who review this study's participants
    (researchers on its team)."""
    if membership is None or membership.workspace_id != study.workspace_id:
        return False
    return membership.allows(Permission.REVIEW_APPLICANTS,
                             on_team=study_on_team(study, membership.user))


def session_may_be_paid_by(membership, session):
    return study_incentives_payable_by(membership, session.study)


@transaction.atomic(durable=True)
def session_complete_and_pay(*, membership, session_id):
    """"Complete & Send payment" (SPEC I1): mark the session Completed and send its
    incentive now, in one transaction. Doing it twice (or racing the 24-hour sweeper)
    pays once: the payout row is locked and sent only from Not sent."""
    session = _session_mark_locked(membership=membership, session_id=session_id,
                                   status=Session.Status.COMPLETED,
                                   may_mark=session_may_be_paid_by, undo=False)
    if session.status != Session.Status.COMPLETED:
        raise BookingRefused(f"A {session.get_status_display()} session is not paid.")
    if not session.study.is_user_interviews:
        raise BookingRefused("This study's incentives are not paid through User Interviews.")
    session_payout_schedule(session=session, actor=membership.user)
    try:
        payout = payout_send_now(session_id=session.pk, actor=membership.user)
    except PayoutRefused as error:
        raise BookingRefused(error.message) from error
    return session, payout


# Calendar invites ------------------------------------------------------------------------------


INVITE_SEND_TASK = "scheduling.session_invite_send"
GROUP_INVITE_SEND_TASK = "scheduling.group_invite_send"


def _invite_after_commit(session, *, method):
    """After commit, ask a worker to send the calendar message (the sweeper covers a loss).

    `method` is decided again by the worker from the session's state; it is named here for
    the reader.
    """
    session_id = str(session.pk)
    transaction.on_commit(lambda: invite_dispatch(session_id))
    # The host's own calendar follows the same changes (create, move, delete).
    session_calendar_write_after_commit(session)


def invite_dispatch(session_id=None, *, group_slot_id=None):
    """Ask a worker to send a session's calendar message, or a group's (one event)."""
    from rally.celery import app

    task, argument = ((GROUP_INVITE_SEND_TASK, str(group_slot_id)) if group_slot_id
                      else (INVITE_SEND_TASK, session_id))
    try:
        app.send_task(task, args=[argument])
    except Exception:
        logger.warning("calendar invite dispatch failed for %s", argument)


def memberships_of_team(study):
    return Membership.objects.filter(workspace_id=study.workspace_id,
                                     user__in=team_members(study))


def booking_time_parse(value):
    """An ISO 8601 instant with an offset, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment

"""Scheduling rows: a study's availability, group times and sessions with participants.

The database holds the rule that matters most: an Upcoming interview never overlaps another
Upcoming interview of the same host (a Postgres exclusion constraint), and a group time never
overlaps another open group time of the same host.
"""

import uuid
from datetime import date, time, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import Func, Q

from scheduling.slots import Availability

DEFAULT_WEEKLY_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}
DEFAULT_WINDOW_DAYS = 14
DEFAULT_MINIMUM_NOTICE_MINUTES = 120
DEFAULT_GROUP_CAPACITY = 6
#: When Rally-panel participants are reminded of their session (hours before it, SPEC P8).
REMINDER_HOUR_CHOICES = (48, 24, 2, 1)
DEFAULT_REMINDER_HOURS = [24, 1]
REMINDERS_UI_REASON = ("User Interviews reminds its own participants: Rally sends reminders to "
                       "Rally-panel participants only.")
ROLLING_UNAVAILABLE_REASON = ("Rolling date ranges are not available for User Interviews "
                              "studies: User Interviews needs a fixed date range.")


def default_reminder_hours():
    return list(DEFAULT_REMINDER_HOURS)


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class LocationKind(models.TextChoices):
    FIXED_LINK = "fixed_link", "Video call, the same link for every session"
    LINK_PATTERN = "link_pattern", "Video call, a link of its own for each session"
    IN_PERSON = "in_person", "In person"


MEETING_PATTERN_PLACEHOLDER = "{session_id}"


def meeting_url_from_pattern(pattern, session_id):
    return pattern.replace(MEETING_PATTERN_PLACEHOLDER, str(session_id))


class SchedulingSettings(models.Model):
    """When a study's sessions may happen (SPEC C1). One per study."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE,
                                 related_name="scheduling_settings")
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    # Observers invited to every session (they get the calendar invite too).
    guests = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Where sessions happen (SPEC C4 "meeting links"): a fixed video link, a link made per
    # session from a pattern, or in person at an address.
    location_kind = models.CharField(max_length=12, choices=LocationKind.choices,
                                     default=LocationKind.FIXED_LINK)
    meeting_url = models.URLField(blank=True)
    # "https://meet.jit.si/rally-{session_id}": {session_id} becomes each session's id.
    meeting_url_pattern = models.CharField(max_length=500, blank=True)
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64)
    start_date = models.DateField()
    end_date = models.DateField()
    # "Next N days" (Rally-panel studies only); when set it replaces the fixed dates.
    rolling_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # {"0": [["09:00", "17:00"]], ...}: weekday (0 = Monday) → wall-clock intervals
    weekly_hours = models.JSONField(default=dict)
    unavailable_dates = ArrayField(models.DateField(), default=list, blank=True)
    buffer_minutes = models.PositiveSmallIntegerField(default=0)
    minimum_notice_minutes = models.PositiveIntegerField(default=DEFAULT_MINIMUM_NOTICE_MINUTES)
    group_capacity = models.PositiveSmallIntegerField(default=DEFAULT_GROUP_CAPACITY)
    # Hours before a session its Rally-panel participant is emailed a reminder; empty: none.
    reminder_hours = ArrayField(models.PositiveSmallIntegerField(),
                                default=default_reminder_hours, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "scheduling settings"
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                   name="scheduling_end_on_or_after_start"),
            models.CheckConstraint(condition=Q(group_capacity__gte=1),
                                   name="scheduling_group_capacity_positive"),
            models.CheckConstraint(condition=Q(rolling_days__isnull=True)
                                   | Q(rolling_days__gte=1, rolling_days__lte=365),
                                   name="scheduling_rolling_days_1_to_365"),
        ]

    def __str__(self):
        return f"Scheduling of {self.study_id}"

    def meeting_place_for(self, session_id):
        """(meeting link, address) a session booked now gets."""
        if self.location_kind == LocationKind.IN_PERSON:
            return "", self.address
        if self.location_kind == LocationKind.LINK_PATTERN and self.meeting_url_pattern:
            return meeting_url_from_pattern(self.meeting_url_pattern, session_id), ""
        return self.meeting_url, ""

    def weekly_hours_as_times(self):
        return weekly_hours_from_json(self.weekly_hours)

    def date_range(self, *, today):
        """The dates sessions may fall on: rolling from `today` or the fixed range."""
        if self.rolling_days:
            return today, today + timedelta(days=self.rolling_days - 1)
        return self.start_date, self.end_date

    def availability(self, *, today):
        start, end = self.date_range(today=today)
        return Availability(
            time_zone=self.time_zone, start_date=start, end_date=end,
            weekly_hours=self.weekly_hours_as_times(),
            unavailable_dates=frozenset(self.unavailable_dates),
            buffer_minutes=self.buffer_minutes,
            minimum_notice_minutes=self.minimum_notice_minutes,
        )


def weekly_hours_from_json(data):
    return {int(day): [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in intervals]
            for day, intervals in data.items()}


def weekly_hours_to_json(weekly_hours):
    return {str(day): [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in sorted(intervals)]
            for day, intervals in sorted(weekly_hours.items()) if intervals}


class GroupSlot(models.Model):
    """One Group Interview time: up to `capacity` participants join the same session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE,
                              related_name="group_slots")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    # Open while at least one Upcoming session holds a seat; a closed time frees the host.
    is_open = models.BooleanField(default=True)
    # The group is one calendar event (SPEC C7): its revision grows as people join or leave,
    # and the hosts' calendars get the new guest list under the same UID.
    sequence = models.PositiveIntegerField(default=0)
    invite_sequence_sent = models.IntegerField(default=-1)
    updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "starts_at"],
                                    name="group_slot_one_per_study_and_time"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="group_slot_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=1),
                                   name="group_slot_capacity_positive"),
            ExclusionConstraint(
                name="group_slot_host_no_overlap",
                expressions=[(TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                             ("host", RangeOperators.EQUAL)],
                condition=Q(is_open=True),
            ),
        ]

    def __str__(self):
        return f"Group time {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def ics_uid(self):
        return f"group-{self.id}@rally"


class Session(models.Model):
    """A participant's time with a host (SPEC C4, C5)."""

    class Status(models.TextChoices):
        UPCOMING = "upcoming", "Upcoming"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"
        CANCELED = "canceled", "Canceled"

    # Written once: where a session may go from each status. After its end a session is
    # Completed (by the host, or by itself at its end time, SPEC C5/I2); until its incentive
    # is sent a host may still mark it No-show, and Undo that (services check the payout).
    TRANSITIONS = {
        Status.UPCOMING: {Status.COMPLETED, Status.NO_SHOW, Status.CANCELED},
        Status.COMPLETED: {Status.NO_SHOW},
        Status.NO_SHOW: {Status.COMPLETED},
        Status.CANCELED: set(),
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE, related_name="+")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="sessions")
    application = models.ForeignKey("participants.Application", on_delete=models.PROTECT,
                                    related_name="sessions")
    # None only for an Unmoderated Test's completion: the participant took the test alone,
    # with no host and no booking (SPEC T2); it is Completed from the start.
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="hosted_sessions")
    guests = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    group_slot = models.ForeignKey(GroupSlot, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPCOMING)
    meeting_url = models.URLField(blank=True)
    # The address of an in-person session (blank for video calls).
    location = models.TextField(blank=True)
    # The zone the participant booked in, so messages show their own times.
    participant_time_zone = models.CharField(max_length=64, blank=True)
    # Calendar invite revision: bumped on every reschedule and on cancel (RFC 5545 SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    # The SEQUENCE of the last calendar message hosts and guests were sent (-1: none yet).
    # Below `sequence` means a message is due; a worker sends it, a sweeper catches misses.
    invite_sequence_sent = models.IntegerField(default=-1)
    # Write-back to the host's own CalDAV calendar: the event Rally put there (and whose
    # calendar it is), and the SEQUENCE it reflects; below `sequence` means a write is due.
    calendar_event_url = models.URLField(max_length=2000, blank=True)
    calendar_event_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                             on_delete=models.SET_NULL, related_name="+")
    calendar_sequence_written = models.IntegerField(default=-1)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Completed by itself at its end time, nobody having marked it (SPEC C5): a host's
    # "Completed" confirms it (and clears this).
    completed_automatically = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["study", "starts_at"]),
            models.Index(fields=["host", "status", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="session_ends_after_start"),
            models.UniqueConstraint(fields=["application"],
                                    condition=Q(status="upcoming"),
                                    name="session_one_upcoming_per_application"),
            models.CheckConstraint(condition=Q(host__isnull=False) | Q(status="completed"),
                                   name="session_without_host_is_a_completed_test"),
            models.UniqueConstraint(fields=["application"], condition=Q(host__isnull=True),
                                    name="session_one_test_completion_per_application"),
            ExclusionConstraint(
                name="session_host_no_overlapping_interviews",
                expressions=[(TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                             ("host", RangeOperators.EQUAL)],
                condition=Q(status="upcoming", group_slot__isnull=True),
            ),
        ]

    def __str__(self):
        return f"Session {self.starts_at:%Y-%m-%d %H:%M} UTC ({self.status})"

    def can_become(self, status):
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def duration_minutes(self):
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def is_test_completion(self):
        """An Unmoderated Test's completion: no host, no booking, no calendar."""
        return self.host_id is None

    @property
    def ics_uid(self):
        return f"session-{self.id}@rally"


class SessionReminder(models.Model):
    """One reminder email due before one session of a Rally-panel participant (SPEC P8).

    Rows are planned when the session is booked and again when it moves (the session's
    `sequence` names the time they remind of: a reschedule withdraws the pending ones and
    plans new ones, a cancel withdraws them). The panel's sweeper claims due rows with
    SKIP LOCKED (Pending → Sending), emails them after the claim commits, and records
    Sent with the contact history, so each goes out once.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SKIPPED = "skipped", "Skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE, related_name="+")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey("Session", on_delete=models.CASCADE, related_name="reminders")
    # The session's `sequence` (its time) this reminder is about, and how long before.
    session_sequence = models.PositiveIntegerField()
    hours_before = models.PositiveSmallIntegerField()
    session_starts_at = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)  # why withdrawn or skipped; last error
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "session_sequence", "hours_before"],
                                    name="session_reminder_once_per_time_and_offset"),
            models.CheckConstraint(condition=Q(hours_before__gte=1),
                                   name="session_reminder_hours_positive"),
        ]
        indexes = [
            # The sweeper's query: what is due and not sent yet.
            models.Index(fields=["due_at"], condition=Q(state__in=["pending", "sending"]),
                         name="session_reminder_due"),
        ]

    def __str__(self):
        return f"Reminder {self.hours_before} h before session {self.session_id}"


def default_date_range(today):
    return today, today + timedelta(days=DEFAULT_WINDOW_DAYS - 1)


def date_today_in(zone, instant) -> date:
    return instant.astimezone(zone).date()


class HostCalendar(models.Model):
    """A host's own calendar, read for busy time (and optionally written with sessions).

    One per person, whatever the workspace: a person is busy or not. Secrets (a CalDAV app
    password; a feed's secret address) are stored encrypted (rally.encryption).
    """

    class Kind(models.TextChoices):
        CALDAV = "caldav", "CalDAV"
        FEED = "feed", "Calendar feed"

    class State(models.TextChoices):
        PENDING = "pending", "Not read yet"
        OK = "ok", "Connected"
        FAILING = "failing", "Cannot be read"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="host_calendar")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # CalDAV: the server (or principal) URL, the user name and the encrypted app password.
    server_url = models.URLField(max_length=2000, blank=True)
    username = models.CharField(max_length=200, blank=True)
    password_encrypted = models.TextField(blank=True)
    # Feed: the secret address, encrypted (whoever has it can read the calendar).
    feed_url_encrypted = models.TextField(blank=True)
    # Shown instead of the secret address: its host name only.
    feed_host = models.CharField(max_length=255, blank=True)
    # CalDAV calendars found on the last read: [{"url": ..., "name": ...}].
    calendars = models.JSONField(default=list, blank=True)
    # The CalDAV calendar sessions are written to ("" = do not write sessions).
    write_calendar_url = models.URLField(max_length=2000, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_read_at = models.DateTimeField(null=True, blank=True)  # last successful read
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    # A worker reading the calendar holds it until then (compare-and-swap claim).
    sync_claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # The host and their teams are told once per failure, not on every failed read.
    failure_reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="caldav") & ~Q(server_url=""))
                | (Q(kind="feed") & ~Q(feed_url_encrypted="")),
                name="host_calendar_has_an_address"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.user_id}"

    @property
    def is_failing(self):
        return self.state == self.State.FAILING

    @property
    def address_display(self):
        if self.kind == self.Kind.CALDAV:
            return self.server_url
        return f"{self.feed_host} (secret address)"

    @property
    def write_calendar_name(self):
        for calendar in self.calendars:
            if calendar.get("url") == self.write_calendar_url:
                return calendar.get("name") or calendar["url"]
        return ""


class HostBusyInterval(models.Model):
    """A time the host is busy in their own calendar: start and end only, nothing else."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="host_busy_ends_after_start"),
        ]

    def __str__(self):
        return f"Busy {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M} UTC"

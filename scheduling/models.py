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
ROLLING_UNAVAILABLE_REASON = ("Rolling date ranges are not available for User Interviews "
                              "studies: User Interviews needs a fixed date range.")


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class SchedulingSettings(models.Model):
    """When a study's sessions may happen (SPEC C1). One per study."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE,
                                 related_name="scheduling_settings")
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    # Observers invited to every session (they get the calendar invite too).
    guests = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    meeting_url = models.URLField(blank=True)
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

    # Written once: where a session may go from each status.
    TRANSITIONS = {
        Status.UPCOMING: {Status.COMPLETED, Status.NO_SHOW, Status.CANCELED},
        Status.COMPLETED: set(),
        Status.NO_SHOW: set(),
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
    # The zone the participant booked in, so messages show their own times.
    participant_time_zone = models.CharField(max_length=64, blank=True)
    # Calendar invite revision: bumped on every reschedule and on cancel (RFC 5545 SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    # The SEQUENCE of the last calendar message hosts and guests were sent (-1: none yet).
    # Below `sequence` means a message is due; a worker sends it, a sweeper catches misses.
    invite_sequence_sent = models.IntegerField(default=-1)
    status_changed_at = models.DateTimeField(null=True, blank=True)
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


def default_date_range(today):
    return today, today + timedelta(days=DEFAULT_WINDOW_DAYS - 1)


def date_today_in(zone, instant) -> date:
    return instant.astimezone(zone).date()

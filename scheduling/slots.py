"""The slot engine: which session times can be offered, as pure functions over plain data.

Availability is written in a host's wall-clock time (an IANA zone); slots are generated in
that zone and converted to UTC, so they stay right across daylight-saving changes. Nothing
here touches the database or reads the clock: callers pass `now` and the busy intervals.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_STEP_MINUTES = 30
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, order=True)
class Interval:
    """A span of real time, [start, end), with timezone-aware ends."""

    start: datetime
    end: datetime

    def overlaps(self, other, *, margin=timedelta(0)):
        return self.start < other.end + margin and other.start - margin < self.end


@dataclass(frozen=True)
class Availability:
    """When sessions may happen, in the hosts' wall-clock time.

    `weekly_hours` maps a weekday (0 = Monday) to (start, end) times of day; a day may have
    several intervals. `unavailable_dates` are whole days off (date overrides).
    """

    time_zone: str
    start_date: date
    end_date: date
    weekly_hours: Mapping[int, Sequence[tuple[time, time]]]
    unavailable_dates: frozenset[date] = frozenset()
    buffer_minutes: int = 0
    minimum_notice_minutes: int = 0


@dataclass(frozen=True)
class GroupOpening:
    """An existing group session time that still has seats."""

    starts_at: datetime
    ends_at: datetime
    seats_left: int
    host: Hashable = None


@dataclass(frozen=True, order=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    host: Hashable = field(default=None, compare=False)
    seats_left: int = field(default=1, compare=False)


class AvailabilityError(ValueError):
    """Availability that cannot be right (the message says why, in the product's words)."""


# Validation ---------------------------------------------------------------------------------


def time_zone_is_known(name):
    return isinstance(name, str) and bool(name) and name in _known_time_zones()


def _known_time_zones():
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


_ZONES = None


def time_zone_choices():
    """Every IANA zone, sorted, for selects (the zone database is the source)."""
    return sorted(z for z in _known_time_zones() if "/" in z or z == "UTC")


def zone_get(name):
    if not time_zone_is_known(name):
        raise AvailabilityError(f"“{name}” is not a time zone we know. Pick one from the list.")
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - available_timezones said yes
        raise AvailabilityError(f"“{name}” is not a time zone we know.") from exc


def _minutes(moment, *, end=False):
    """Minutes since midnight; an end of 00:00 means the end of the day."""
    if end and moment == time(0):
        return 24 * 60
    return moment.hour * 60 + moment.minute


def weekly_hours_validate(weekly_hours):
    """Raise AvailabilityError when an interval ends before it starts or two overlap."""
    for weekday, intervals in weekly_hours.items():
        day = WEEKDAY_NAMES[weekday]
        ordered = sorted(intervals)
        for start, end in ordered:
            if _minutes(end, end=True) <= _minutes(start):
                raise AvailabilityError(
                    f"{day}: {start:%H:%M}-{end:%H:%M} ends before it starts.")
        for (first_start, first_end), (second_start, second_end) in pairwise(ordered):
            if _minutes(second_start) < _minutes(first_end, end=True):
                raise AvailabilityError(
                    f"{day}: {first_start:%H:%M}-{first_end:%H:%M} overlaps "
                    f"{second_start:%H:%M}-{second_end:%H:%M}.")


def date_range_validate(start_date, end_date):
    if end_date < start_date:
        raise AvailabilityError("The end date must be on or after the start date.")


# Wall-clock to UTC ------------------------------------------------------------------------


def local_to_utc(day, moment, zone):
    """The UTC instant of a wall-clock time, or None if that time does not exist there.

    A time skipped by a spring-forward change does not exist. A time repeated by a fall-back
    change is taken once, at its first occurrence (fold=0).
    """
    naive = datetime.combine(day, moment)
    aware = naive.replace(tzinfo=zone, fold=0)
    as_utc = aware.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return as_utc


def _boundary_to_utc(day, moment, zone):
    """An interval boundary as UTC (inside a spring-forward gap, the pre-gap offset)."""
    naive = datetime.combine(day, moment)
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _end_of_day(day, end):
    """Weekly hours ending at 00:00 mean midnight at the end of the day."""
    if end == time(0):
        return day + timedelta(days=1), time(0)
    return day, end


def availability_windows(availability):
    """The availability as UTC intervals, day by day (date overrides removed)."""
    zone = zone_get(availability.time_zone)
    day = availability.start_date
    while day <= availability.end_date:
        if day not in availability.unavailable_dates:
            for start, end in sorted(availability.weekly_hours.get(day.weekday(), ())):
                end_day, end_time = _end_of_day(day, end)
                yield day, start, Interval(_boundary_to_utc(day, start, zone),
                                           _boundary_to_utc(end_day, end_time, zone))
        day += timedelta(days=1)


def _candidate_starts(availability, duration, step):
    """Start instants generated on the hosts' wall clock, each inside one window."""
    zone = zone_get(availability.time_zone)
    seen = set()
    for day, start, window in availability_windows(availability):
        local = datetime.combine(day, start)
        while True:
            starts_at = local_to_utc(local.date(), local.time(), zone)
            local += step
            if starts_at is None:
                continue  # spring forward: this wall-clock time never happens
            if starts_at + duration > window.end:
                break
            if starts_at < window.start or starts_at in seen:
                continue  # fall back: the repeated hour is offered once
            seen.add(starts_at)
            yield starts_at


# The engine -------------------------------------------------------------------------------


def slots_available(*, availability, duration_minutes, now, hosts,
                    host_busy=None, busy=(), capacity=1, group_openings=(),
                    step_minutes=DEFAULT_STEP_MINUTES):
    """Free slots, in time order.

    hosts: the hosts in order of preference; a slot needs one free host, the first free one
        is chosen for it.
    host_busy: host → intervals when that host is taken (their sessions in any study).
    busy: intervals when nobody may be booked (e.g. this study's own sessions).
    capacity: seats per slot (1 for an interview, N for a group interview).
    group_openings: existing group times with seats left; they are offered even though their
        host is busy with them, and a full one is simply busy.
    """
    if duration_minutes <= 0:
        raise AvailabilityError("A session needs a length of at least one minute.")
    host_busy = host_busy or {}
    duration = timedelta(minutes=duration_minutes)
    step = timedelta(minutes=step_minutes)
    buffer = timedelta(minutes=availability.buffer_minutes)
    earliest = now + timedelta(minutes=availability.minimum_notice_minutes)
    windows = [window for _, _, window in availability_windows(availability)]

    def inside_availability(interval):
        return any(w.start <= interval.start and interval.end <= w.end for w in windows)

    blocked = sorted(busy)
    offered = {}
    for opening in group_openings:
        interval = Interval(opening.starts_at, opening.ends_at)
        if (opening.seats_left > 0 and opening.starts_at >= earliest
                and inside_availability(interval)):
            offered[opening.starts_at] = Slot(opening.starts_at, opening.ends_at,
                                              opening.host, opening.seats_left)
    taken_times = [Interval(o.starts_at, o.ends_at) for o in group_openings]

    for starts_at in _candidate_starts(availability, duration, step):
        if starts_at < earliest or starts_at in offered:
            continue
        candidate = Interval(starts_at, starts_at + duration)
        if _collides(candidate, blocked, buffer) or _collides(candidate, taken_times, buffer):
            continue
        host = _first_free_host(candidate, hosts, host_busy, buffer)
        if host is _NO_HOST:
            continue
        offered[starts_at] = Slot(candidate.start, candidate.end, host, capacity)
    return sorted(offered.values())


_NO_HOST = object()


def _collides(candidate, intervals, buffer):
    return any(candidate.overlaps(other, margin=buffer) for other in intervals)


def _first_free_host(candidate, hosts, host_busy, buffer):
    for host in hosts:
        if not _collides(candidate, host_busy.get(host, ()), buffer):
            return host
    return _NO_HOST


def slot_find(slots, starts_at):
    """The offered slot starting at `starts_at` (an aware datetime), or None."""
    for slot in slots:
        if slot.starts_at == starts_at:
            return slot
    return None


# Presenting slots in someone's own zone -------------------------------------------------


@dataclass(frozen=True)
class LocalSlot:
    slot: Slot
    starts_local: datetime
    ends_local: datetime


def slots_by_local_day(slots: Iterable[Slot], time_zone):
    """[(local date, [LocalSlot, ...]), ...] in the viewer's zone, days in order."""
    zone = zone_get(time_zone)
    days = {}
    for slot in sorted(slots):
        local = LocalSlot(slot, slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone))
        days.setdefault(local.starts_local.date(), []).append(local)
    return sorted(days.items())

"""The slot engine: availability, busy time, buffers, notice, hosts, groups and DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.slots import (
    Availability,
    AvailabilityError,
    GroupOpening,
    Interval,
    date_range_validate,
    local_to_utc,
    slots_available,
    slots_by_local_day,
    weekly_hours_validate,
    zone_get,
)

NINE_TO_FIVE = {d: [(time(9), time(17))] for d in range(5)}
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def availability(**overrides):
    values = {"time_zone": "America/New_York", "start_date": date(2026, 6, 1),
              "end_date": date(2026, 6, 1), "weekly_hours": NINE_TO_FIVE}
    values.update(overrides)
    return Availability(**values)


def offered(**kwargs):
    kwargs.setdefault("availability", availability())
    kwargs.setdefault("duration_minutes", 60)
    kwargs.setdefault("now", LONG_AGO)
    kwargs.setdefault("hosts", ["h"])
    return slots_available(**kwargs)


def local_starts(slots, zone="America/New_York"):
    return [s.starts_at.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M") for s in slots]


def test_weekday_nine_to_five_offers_hourly_sessions_every_half_hour():
    slots = offered()
    assert local_starts(slots)[0] == "06-01 09:00"
    assert local_starts(slots)[-1] == "06-01 16:00"
    assert len(slots) == 15
    assert all(s.ends_at - s.starts_at == timedelta(hours=60 / 60) for s in slots)
    # 9:00 New York in June is 13:00 UTC
    assert slots[0].starts_at == datetime(2026, 6, 1, 13, tzinfo=UTC)


def test_weekends_and_unavailable_dates_offer_nothing():
    week = availability(start_date=date(2026, 6, 1), end_date=date(2026, 6, 7),
                        unavailable_dates=frozenset({date(2026, 6, 3)}))
    days = {s.starts_at.astimezone(ZoneInfo("America/New_York")).date()
            for s in offered(availability=week)}
    assert days == {date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 4), date(2026, 6, 5)}


def test_several_intervals_a_day():
    split = availability(weekly_hours={0: [(time(9), time(10)), (time(14), time(15, 30))]})
    assert local_starts(offered(availability=split)) == [
        "06-01 09:00", "06-01 14:00", "06-01 14:30"]


def test_busy_interval_and_buffer_remove_neighbouring_slots():
    busy = Interval(datetime(2026, 6, 1, 15, tzinfo=UTC), datetime(2026, 6, 1, 16, tzinfo=UTC))
    no_buffer = local_starts(offered(busy=[busy]))
    assert "06-01 10:00" in no_buffer and "06-01 12:00" in no_buffer
    assert "06-01 10:30" not in no_buffer and "06-01 11:30" not in no_buffer
    with_buffer = local_starts(offered(busy=[busy], availability=availability(buffer_minutes=15)))
    assert "06-01 10:00" not in with_buffer and "06-01 12:00" not in with_buffer
    assert "06-01 09:30" in with_buffer and "06-01 12:30" in with_buffer


def test_minimum_notice_hides_slots_too_soon():
    now = datetime(2026, 6, 1, 13, tzinfo=UTC)  # 9:00 in New York
    slots = offered(now=now, availability=availability(minimum_notice_minutes=120))
    assert local_starts(slots)[0] == "06-01 11:00"


def test_one_free_host_is_enough_and_is_picked_per_slot():
    ten = Interval(datetime(2026, 6, 1, 14, tzinfo=UTC), datetime(2026, 6, 1, 15, tzinfo=UTC))
    slots = offered(hosts=["ana", "ben"], host_busy={"ana": [ten]})
    by_start = {s: slot.host for s, slot in zip(local_starts(slots), slots, strict=True)}
    assert by_start["06-01 09:00"] == "ana"
    assert by_start["06-01 10:00"] == "ben"
    both_busy = offered(hosts=["ana", "ben"], host_busy={"ana": [ten], "ben": [ten]})
    assert "06-01 10:00" not in local_starts(both_busy)


def test_group_openings_offer_their_seats_and_full_ones_block():
    nine = datetime(2026, 6, 1, 13, tzinfo=UTC)
    open_group = GroupOpening(nine, nine + timedelta(hours=1), seats_left=2, host="h")
    slots = offered(capacity=4, group_openings=[open_group], host_busy={"h": [
        Interval(nine, nine + timedelta(hours=1))]})
    assert slots[0].starts_at == nine and slots[0].seats_left == 2
    assert "06-01 09:30" not in local_starts(slots)
    assert slots[1].seats_left == 4
    full = GroupOpening(nine, nine + timedelta(hours=1), seats_left=0, host="h")
    assert "06-01 09:00" not in local_starts(offered(capacity=4, group_openings=[full]))


def test_spring_forward_skips_the_missing_hour_new_york():
    # 2026-03-08 02:00 → 03:00 in New York
    night = availability(start_date=date(2026, 3, 8), end_date=date(2026, 3, 8),
                         weekly_hours={6: [(time(0), time(5))]})
    slots = offered(availability=night, duration_minutes=30)
    starts = local_starts(slots)
    assert "03-08 02:00" not in starts and "03-08 02:30" not in starts
    assert starts[:4] == ["03-08 00:00", "03-08 00:30", "03-08 01:00", "03-08 01:30"]
    assert starts[4] == "03-08 03:00"
    assert len({s.starts_at for s in slots}) == len(slots)
    assert local_to_utc(date(2026, 3, 8), time(2, 30), ZoneInfo("America/New_York")) is None


def test_fall_back_offers_the_repeated_hour_once_new_york():
    # 2026-11-01 02:00 → 01:00 in New York
    night = availability(start_date=date(2026, 11, 1), end_date=date(2026, 11, 1),
                         weekly_hours={6: [(time(0), time(4))]})
    slots = offered(availability=night, duration_minutes=30)
    starts = local_starts(slots)
    assert starts.count("11-01 01:00") == 1 and starts.count("11-01 01:30") == 1
    assert len({s.starts_at for s in slots}) == len(slots)
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    # the first 01:00 (EDT, UTC-4) is the one offered
    one = next(s for s, label in zip(slots, starts, strict=True) if label == "11-01 01:00")
    assert one.starts_at == datetime(2026, 11, 1, 5, tzinfo=UTC)


def test_spring_forward_and_fall_back_in_berlin():
    spring = availability(time_zone="Europe/Berlin", start_date=date(2026, 3, 29),
                          end_date=date(2026, 3, 29), weekly_hours={6: [(time(1), time(4))]})
    starts = local_starts(offered(availability=spring, duration_minutes=30), "Europe/Berlin")
    assert starts == ["03-29 01:00", "03-29 01:30", "03-29 03:00", "03-29 03:30"]
    autumn = availability(time_zone="Europe/Berlin", start_date=date(2026, 10, 25),
                          end_date=date(2026, 10, 25), weekly_hours={6: [(time(1), time(4))]})
    slots = offered(availability=autumn, duration_minutes=30)
    starts = local_starts(slots, "Europe/Berlin")
    assert starts.count("10-25 02:00") == 1 and starts.count("10-25 02:30") == 1
    assert len(set(starts)) == len(starts)


def test_working_hours_keep_their_wall_clock_across_dst():
    # Berlin 9:00 is 08:00 UTC in winter and 07:00 UTC in summer
    both = availability(time_zone="Europe/Berlin", start_date=date(2026, 3, 27),
                        end_date=date(2026, 3, 30))
    firsts = {}
    for slot in offered(availability=both):
        firsts.setdefault(slot.starts_at.astimezone(ZoneInfo("Europe/Berlin")).date(), slot)
    assert firsts[date(2026, 3, 27)].starts_at.hour == 8
    assert firsts[date(2026, 3, 30)].starts_at.hour == 7


def test_participant_in_another_zone_sees_the_host_times_in_their_own():
    slots = offered()  # 9:00-17:00 New York on 1 June
    days = slots_by_local_day(slots, "Asia/Tokyo")
    # 9:00 New York (EDT) is 22:00 the same day in Tokyo; 16:00 is 05:00 the next day
    assert days[0][0] == date(2026, 6, 1)
    assert days[0][1][0].starts_local.strftime("%H:%M") == "22:00"
    assert days[1][0] == date(2026, 6, 2)
    assert days[1][1][-1].starts_local.strftime("%H:%M") == "05:00"
    assert sum(len(day_slots) for _, day_slots in days) == len(slots)


def test_unknown_zone_overlapping_hours_and_reversed_dates_are_refused():
    with pytest.raises(AvailabilityError, match="not a time zone"):
        zone_get("Mars/Olympus_Mons")
    with pytest.raises(AvailabilityError, match="overlaps"):
        weekly_hours_validate({0: [(time(9), time(12)), (time(11), time(13))]})
    with pytest.raises(AvailabilityError, match="ends before it starts"):
        weekly_hours_validate({2: [(time(12), time(9))]})
    with pytest.raises(AvailabilityError, match="end date"):
        date_range_validate(date(2026, 6, 2), date(2026, 6, 1))
    weekly_hours_validate({0: [(time(9), time(12)), (time(12), time(13))]})


# Properties ---------------------------------------------------------------------------------

ZONES = st.sampled_from(["America/New_York", "Europe/Berlin", "Asia/Kolkata",
                         "Australia/Lord_Howe", "UTC", "America/Sao_Paulo"])


@st.composite
def day_hours(draw):
    intervals = []
    cursor = 0
    for _ in range(draw(st.integers(0, 3))):
        start = cursor + draw(st.integers(0, 6))
        end = start + draw(st.integers(1, 8))
        if end > 48:
            break
        intervals.append((time(start // 2, 30 * (start % 2)),
                          time(end // 2, 30 * (end % 2)) if end < 48 else time(0)))
        cursor = end
    return intervals


@settings(max_examples=120, deadline=None)
@given(
    zone=ZONES,
    first=st.dates(date(2026, 1, 1), date(2026, 12, 20)),
    days=st.integers(0, 6),
    hours=st.lists(day_hours(), min_size=7, max_size=7),
    buffer=st.sampled_from([0, 10, 15, 30]),
    notice=st.integers(0, 3000),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    now_offset=st.integers(-2000, 6000),
    busy_spec=st.lists(st.tuples(st.integers(0, 7 * 24 * 60), st.integers(5, 240)), max_size=6),
)
def test_no_offered_slot_breaks_busy_notice_or_availability(zone, first, days, hours, buffer,
                                                            notice, duration, now_offset,
                                                            busy_spec):
    window = Availability(time_zone=zone, start_date=first, end_date=first + timedelta(days=days),
                          weekly_hours=dict(enumerate(hours)), buffer_minutes=buffer,
                          minimum_notice_minutes=notice)
    origin = datetime.combine(first, time(0), tzinfo=UTC) - timedelta(days=1)
    now = origin + timedelta(minutes=now_offset)
    busy = [Interval(origin + timedelta(minutes=s), origin + timedelta(minutes=s + n))
            for s, n in busy_spec]
    slots = slots_available(availability=window, duration_minutes=duration, now=now,
                            hosts=["h"], host_busy={"h": busy})
    local = ZoneInfo(zone)
    margin = timedelta(minutes=buffer)
    for slot in slots:
        assert slot.ends_at - slot.starts_at == timedelta(minutes=duration)
        assert slot.starts_at >= now + timedelta(minutes=notice)
        for b in busy:
            assert slot.ends_at + margin <= b.start or b.end + margin <= slot.starts_at
        start_local = slot.starts_at.astimezone(local)
        end_local = slot.ends_at.astimezone(local)
        assert first <= start_local.date() <= window.end_date
        day_intervals = hours[start_local.weekday()]
        inside = False
        for a, b in day_intervals:
            open_at = local_to_utc(start_local.date(), a, local) or datetime.combine(
                start_local.date(), a, tzinfo=local).astimezone(UTC)
            close_day = start_local.date() + timedelta(days=1 if b == time(0) else 0)
            close_at = datetime.combine(close_day, b, tzinfo=local).astimezone(UTC)
            if open_at <= slot.starts_at and slot.ends_at <= close_at:
                inside = True
        assert inside, (start_local, end_local, day_intervals)
    assert len({s.starts_at for s in slots}) == len(slots)

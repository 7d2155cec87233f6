"""rally.clock: the test-clock offset is remembered in-process for MEMO_SECONDS; moving the
clock in this process is seen at once, a move by another process within the memo."""

import pytest
from django.core.cache import cache
from django.db.models import F

from rally import clock
from rally.models import TestClock

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_on(settings):
    settings.SANDBOX_ENABLED = True


def _moved_elsewhere(seconds):
    """What another process moving the clock leaves behind: the row and the cache, not our memo."""
    TestClock.objects.get_or_create(pk=1)
    TestClock.objects.filter(pk=1).update(offset_seconds=F("offset_seconds") + seconds)
    cache.delete(clock.CACHE_KEY)


def test_advance_and_reset_are_seen_at_once_in_this_process(sandbox_on):
    assert clock.offset_seconds() == 0
    clock.advance(hours=2)
    assert clock.offset_seconds() == 7200
    clock.reset()
    assert clock.offset_seconds() == 0


def test_the_offset_is_read_once_within_the_memo(sandbox_on, django_assert_num_queries):
    clock.offset_seconds()
    with django_assert_num_queries(0):
        for _ in range(20):
            clock.now()


def test_another_process_moving_the_clock_is_seen_when_the_memo_expires(sandbox_on, monkeypatch):
    moment = [1000.0]
    monkeypatch.setattr(clock.time, "monotonic", lambda: moment[0])
    assert clock.offset_seconds() == 0
    _moved_elsewhere(600)
    assert clock.offset_seconds() == 0  # still within the memo
    moment[0] += clock.MEMO_SECONDS
    assert clock.offset_seconds() == 600


def test_forget_reads_afresh(sandbox_on):
    assert clock.offset_seconds() == 0
    _moved_elsewhere(60)
    clock.forget()
    assert clock.offset_seconds() == 60


def test_without_the_sandbox_it_is_the_wall_clock(settings):
    settings.SANDBOX_ENABLED = False
    _moved_elsewhere(3600)
    clock.forget()
    before = clock.timezone.now()
    assert abs((clock.now() - before).total_seconds()) < 60


def test_the_offset_belongs_to_its_database(sandbox_on, monkeypatch):
    """Another Rally on the same Redis with another database (a benchmark beside `make run`)
    has its own clock: neither its cached offset nor this process's memo leaks across."""
    from django.db import connection

    clock.advance(hours=168)
    assert clock.offset_seconds() == 168 * 3600
    ours = connection.settings_dict["NAME"]
    monkeypatch.setitem(connection.settings_dict, "NAME", f"{ours}_elsewhere")
    assert cache.get(clock.CACHE_KEY) is None
    cache.set(clock.CACHE_KEY, 5, timeout=30)
    assert clock.offset_seconds() == 5
    monkeypatch.setitem(connection.settings_dict, "NAME", ours)
    assert clock.offset_seconds() == 168 * 3600

"""The one way Rally reads the current time.

With the sandbox enabled, a test clock offset (stored in the database, moved by the
sandbox's `/_sandbox/clock`) is added, so a demo can let 24 hours pass. In production the
sandbox is disabled and this is the real clock.

The offset is read from the cache (Redis, then the database) at most once a second per
process and remembered in between (`MEMO_SECONDS`): a payout run calls `now()` about ten
times per payout, and a Redis round trip each time was a measurable share of a worker's
CPU. `advance()` and `reset()` forget the remembered offset in the process that moved the
clock, so that process (a test, the sandbox console served by the same server, the
live_server thread of a browser test) sees the move at once. Another process (a Celery
worker while the console moves the clock in the web process) sees it within
`MEMO_SECONDS`. The offset belongs to one database: its cache key carries the database's
name (rally/cache.py) and the remembered value is kept per database name, so a process that
switches databases (a benchmark) never reads another's clock. `forget()` drops the
remembered offset (the tests call it with the cache emptied between tests, where a
rolled-back transaction takes the offset with it).
"""

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

CACHE_KEY = "rally:test-clock-offset"
#: How long a process trusts the offset it last read (seconds).
MEMO_SECONDS = 1.0

# (database name, offset in seconds, time.monotonic() until which it holds) or None. One
# tuple, replaced whole, so threads of one process (the dev server, live_server) never see
# half of it.
_memo = None


def _cache(operation, *args, **kwargs):
    """The offset's cache is only a shortcut to its database row: with Redis unreachable
    the row is read every time (None), and time keeps running."""
    try:
        return operation(*args, **kwargs)
    except Exception:  # the cache backend's connection errors
        return None


def now():
    if not settings.SANDBOX_ENABLED:
        return timezone.now()
    return timezone.now() + timedelta(seconds=offset_seconds())


def offset_seconds():
    global _memo
    memo, moment = _memo, time.monotonic()
    database = connection.settings_dict["NAME"]
    if memo is not None and memo[0] == database and moment < memo[2]:
        return memo[1]
    offset = _cache(cache.get, CACHE_KEY)
    if offset is None:
        from rally.models import TestClock

        row = TestClock.objects.filter(pk=1).first()
        offset = row.offset_seconds if row else 0
        _cache(cache.set, CACHE_KEY, offset, timeout=30)
    _memo = (database, offset, moment + MEMO_SECONDS)
    return offset


def forget():
    """Drop this process's remembered offset: the next `now()` reads it afresh."""
    global _memo
    _memo = None


def advance(*, hours=0, seconds=0):
    """Move the test clock forward (sandbox only). Returns the new "now"."""
    if not settings.SANDBOX_ENABLED:
        raise RuntimeError("The clock can only move while the sandbox is enabled.")
    from django.db.models import F

    from rally.models import TestClock

    delta = int(hours * 3600 + seconds)
    if delta < 0:
        raise ValueError("The test clock only moves forward.")
    TestClock.objects.get_or_create(pk=1)
    TestClock.objects.filter(pk=1).update(offset_seconds=F("offset_seconds") + delta)
    _cache(cache.delete, CACHE_KEY)
    forget()
    return now()


def reset():
    """Put the test clock back on the wall clock (sandbox reset, tests)."""
    from rally.models import TestClock

    TestClock.objects.filter(pk=1).delete()
    _cache(cache.delete, CACHE_KEY)
    forget()

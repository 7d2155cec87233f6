"""The one way Rally reads the current time.

With the sandbox enabled, a test clock offset (stored in the database, moved by the
sandbox's `/_sandbox/clock`) is added, so a demo can let 24 hours pass. In production the
sandbox is disabled and this is the real clock.
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

CACHE_KEY = "rally:test-clock-offset"


def now():
    if not settings.SANDBOX_ENABLED:
        return timezone.now()
    return timezone.now() + timedelta(seconds=offset_seconds())


def offset_seconds():
    offset = cache.get(CACHE_KEY)
    if offset is None:
        from rally.models import TestClock

        row = TestClock.objects.filter(pk=1).first()
        offset = row.offset_seconds if row else 0
        cache.set(CACHE_KEY, offset, timeout=30)
    return offset


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
    cache.delete(CACHE_KEY)
    return now()


def reset():
    """Put the test clock back on the wall clock (sandbox reset, tests)."""
    from rally.models import TestClock

    TestClock.objects.filter(pk=1).delete()
    cache.delete(CACHE_KEY)

"""Liveness and readiness (/healthz, /readyz) and the heartbeats readiness reads.

A worker records a heartbeat each time it runs the `rally.heartbeat` task (sent by beat
every HEARTBEAT_SECONDS, and once when the worker starts); beat records one whenever it
publishes a task. Both live in the cache (Redis in production) on the wall clock, so a
moved test clock never makes a dead process look alive.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from rally import clock

HEARTBEAT_SECONDS = settings.HEARTBEAT_SECONDS  # beat sends rally.heartbeat this often
HEARTBEAT_FRESH_SECONDS = 60
_KEY = "rally:heartbeat:{}"


def heartbeat_record(process):
    """`process` ("worker" or "beat") is alive now."""
    try:
        cache.set(_KEY.format(process), time.time(), timeout=24 * 3600)
    except Exception:  # the cache being down must never break a task or beat
        return


def heartbeat_age(process):
    """Seconds since `process` was last seen, or None when never (or the cache is down)."""
    try:
        seen = cache.get(_KEY.format(process))
    except Exception:
        return None
    return None if seen is None else max(0.0, time.time() - seen)


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as error:
        return f"down: {type(error).__name__}"


def _broker():
    from rally.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as error:
        return f"down: {type(error).__name__}"


def _heartbeat(process):
    age = heartbeat_age(process)
    if age is None:
        return "down: never seen"
    if age > HEARTBEAT_FRESH_SECONDS:
        return f"down: last seen {age:.0f} s ago"
    return "ok"


def outbox_backlog():
    """(due rows waiting, age in seconds of the oldest) among pending outbox rows."""
    from django.db.models import Count, Min

    from rally.models import OutboxOperation

    now = clock.now()
    found = OutboxOperation.objects.filter(
        status=OutboxOperation.Status.PENDING, next_attempt_at__lte=now).aggregate(
        waiting=Count("pk"), oldest=Min("created_at"))
    oldest = found["oldest"]
    return found["waiting"], (now - oldest).total_seconds() if oldest else 0.0


def _outbox():
    try:
        waiting, age = outbox_backlog()
    except Exception as error:
        return f"down: {type(error).__name__}"
    limit = settings.READYZ_OUTBOX_MAX_AGE_SECONDS
    if age > limit:
        return f"behind: {waiting} waiting, the oldest for {age:.0f} s (limit {limit} s)"
    return "ok"


def readiness():
    """Each dependency's state ("ok" or why not) and whether all are ok."""
    checks = {"database": _database(), "broker": _broker(), "worker": _heartbeat("worker"),
              "beat": _heartbeat("beat")}
    checks["outbox"] = _outbox() if checks["database"] == "ok" else "unknown: no database"
    return all(value == "ok" for value in checks.values()), checks

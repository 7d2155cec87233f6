"""The one beat table (rally/settings.py) names only tasks Celery knows."""

import os
import subprocess
import sys

from django.conf import settings

from rally.celery import app
from rally.health import HEARTBEAT_SECONDS


def test_every_task_on_the_beat_table_is_registered_with_celery():
    app.loader.import_default_modules()
    named = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert named - set(app.tasks) == set()
    assert len(named) == len(settings.CELERY_BEAT_SCHEDULE)  # one entry per task


def test_the_heartbeat_is_sent_as_often_as_readiness_expects():
    entry = settings.CELERY_BEAT_SCHEDULE["rally-heartbeat"]
    assert entry == {"task": "rally.heartbeat", "schedule": float(HEARTBEAT_SECONDS)}


def _table_with_sandbox(enabled):
    """The beat table's names as a fresh process reads them with SANDBOX_ENABLED=`enabled`."""
    code = "import rally.settings as s; print(' '.join(sorted(s.CELERY_BEAT_SCHEDULE)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "SANDBOX_ENABLED": "true" if enabled else "false"})
    return set(result.stdout.split())


def test_the_sandbox_ticks_only_when_it_is_enabled():
    with_sandbox, without = _table_with_sandbox(True), _table_with_sandbox(False)
    assert with_sandbox - without == {"sandbox-simulation-tick"}
    assert without >= {"rally-heartbeat", "billing-payout-sweep", "recruitment-poll"}

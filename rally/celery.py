"""The one Celery app: workers run UI operations, webhooks, emails and the sandbox simulation."""

import logging
import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

app = Celery("rally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

task_logger = logging.getLogger("rally.task")
_started = {}  # task id → perf_counter at its start (a worker runs a task once at a time)


@task_prerun.connect
def _task_started(task_id=None, **_):
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_):
    """One line per task run: name, id, outcome (SUCCESS, FAILURE, RETRY…) and milliseconds."""
    started = _started.pop(task_id, None)
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    task_logger.info("task id=%s name=%s outcome=%s ms=%.1f", task_id,
                     getattr(task, "name", "?"), state or "?", elapsed_ms)

"""The one Celery app: workers run UI operations, webhooks, emails and the sandbox simulation."""

import logging
import os
import time

from celery import Celery
from celery.signals import (
    beat_init,
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_ready,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

app = Celery("rally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

task_logger = logging.getLogger("rally.task")
_started = {}  # task id → perf_counter at its start (a worker runs a task once at a time)
_request_ids = {}  # task id → the context token of the request id it carries


@before_task_publish.connect
def _carry_request_id(headers=None, **_):
    """A task enqueued while serving a request carries that request's id."""
    from rally.logs import task_headers_add

    task_headers_add(headers)


@task_prerun.connect
def _task_started(task_id=None, task=None, **_):
    from rally.logs import request_id_var, task_request_id

    _started[task_id] = time.perf_counter()
    _request_ids[task_id] = request_id_var.set(
        task_request_id(task.request) if task is not None else "")


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_):
    """One line per task run: name, id, outcome (SUCCESS, FAILURE, RETRY…) and milliseconds."""
    started = _started.pop(task_id, None)
    token = _request_ids.pop(task_id, None)
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    task_logger.info("task id=%s name=%s outcome=%s ms=%.1f", task_id,
                     getattr(task, "name", "?"), state or "?", elapsed_ms)
    if token is not None:
        from rally.logs import request_id_var

        request_id_var.reset(token)


# Heartbeats for /readyz (rally.health) --------------------------------------------------------

_in_beat = False


def _refuse_unsafe_start():
    """A configuration that must never run (the sandbox without DEBUG) stops the worker or
    beat before it takes any work (SystemExit: Celery's signals swallow exceptions)."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    django.setup()
    from rally.checks import refuse_unsafe_start

    try:
        refuse_unsafe_start()
    except ImproperlyConfigured as error:
        raise SystemExit(f"Rally refuses to start: {error}") from None


@worker_init.connect
def _worker_starting(**_):
    _refuse_unsafe_start()


@beat_init.connect
def _beat_started(**_):
    global _in_beat
    _refuse_unsafe_start()
    _in_beat = True
    from rally.health import heartbeat_record

    heartbeat_record("beat")


@before_task_publish.connect
def _beat_publishing(**_):
    """Beat is alive whenever it sends something (its schedule includes the heartbeat)."""
    if _in_beat:
        from rally.health import heartbeat_record

        heartbeat_record("beat")


@worker_ready.connect
def _worker_started(**_):
    from rally.health import heartbeat_record

    heartbeat_record("worker")


@app.task(name="rally.heartbeat", ignore_result=True)
def heartbeat():
    """Sent by beat every HEARTBEAT_SECONDS: a worker that runs it is alive."""
    from rally.health import heartbeat_record

    heartbeat_record("worker")

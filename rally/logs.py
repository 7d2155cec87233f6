"""Structured logs: JSON lines (LOG_FORMAT=json, the default with DEBUG off) carrying the id of
the request that caused them — in the web process, and in every Celery task that request
enqueued (the id travels in the task message's headers)."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

#: The id of the request (or of the request that enqueued the running task), or "".
request_id_var = ContextVar("rally_request_id", default="")
HEADER = "rally_request_id"


class RequestIdFilter(logging.Filter):
    """Give every record `request_id` (the current one, or "-")."""

    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (+ exception)."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get() or "-",
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def task_headers_add(headers):
    """Carry the current request's id into a task message being published."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


def task_request_id(task_request):
    """The request id a task message carries (Celery exposes message headers on the task's
    request, or in its `headers`)."""
    found = getattr(task_request, HEADER, None)
    if not found:
        found = (getattr(task_request, "headers", None) or {}).get(HEADER)
    return found or ""

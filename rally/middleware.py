"""Request middleware: the current workspace, and one structured log line per request."""

import logging
import re
import time
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from prometheus_client import Histogram

from rally.logs import request_id_var
from rally.selectors import membership_for_request

request_logger = logging.getLogger("rally.request")
# Seconds per request, by method and status class, for Prometheus (/metrics).
REQUEST_LATENCY = Histogram("rally_http_request_duration_seconds",
                            "Time Rally took to answer a request.", ["method", "status"],
                            buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


def current_workspace(get_response):
    """Give every request `membership` and `workspace` (lazily: public pages pay nothing)."""

    def middleware(request):
        request.membership = SimpleLazyObject(lambda: membership_for_request(request))
        request.workspace = SimpleLazyObject(
            lambda: request.membership.workspace if request.membership else None)
        return get_response(request)

    return middleware


def user_time_zone(get_response):
    """Show times in the signed-in person's own time zone."""

    def middleware(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.time_zone:
            try:
                timezone.activate(ZoneInfo(user.time_zone))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return get_response(request)

    return middleware


# An incoming X-Request-Id (from a proxy) is kept only when it is a plain token: anything
# else (spaces, newlines, a megabyte) would let a client write into the log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def request_log(get_response):
    """One line per request: id, method, path, status, milliseconds and the user's id."""

    def middleware(request):
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = (incoming if _REQUEST_ID.fullmatch(incoming)
                              else uuid.uuid4().hex[:16])
        # Every log line of this request, and every task it enqueues, carries the id.
        token = request_id_var.set(request.request_id)
        started = time.perf_counter()
        try:
            response = get_response(request)
        finally:
            request_id_var.reset(token)
        elapsed_ms = (time.perf_counter() - started) * 1000
        REQUEST_LATENCY.labels(request.method if request.method in _METHODS else "other",
                               f"{response.status_code // 100}xx").observe(elapsed_ms / 1000)
        response["X-Request-Id"] = request.request_id
        user = getattr(request, "user", None)
        request_logger.info(
            "request id=%s method=%s path=%s status=%s ms=%.1f user=%s",
            request.request_id, request.method, request.path, response.status_code,
            elapsed_ms, user.pk if user is not None and user.is_authenticated else "-",
        )
        return response

    return middleware

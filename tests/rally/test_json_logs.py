"""JSON logs that carry the request id, in the web process and in the tasks a request
enqueues."""

import json
import logging

from celery import shared_task
from django.http import HttpResponse
from django.test import RequestFactory

from rally.celery import _carry_request_id
from rally.logs import JsonFormatter, RequestIdFilter, request_id_var
from rally.middleware import request_log


@shared_task(name="tests.rally.current_request_id")
def current_request_id():
    return request_id_var.get()


def test_a_request_id_is_current_while_the_request_is_served_and_not_after():
    seen = []

    def view(request):
        seen.append(request_id_var.get())
        return HttpResponse("ok")

    response = request_log(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="edge-42"))
    assert seen == ["edge-42"] and response["X-Request-Id"] == "edge-42"
    assert request_id_var.get() == ""


def test_a_task_enqueued_by_a_request_carries_its_id_into_the_worker():
    headers = {}
    token = request_id_var.set("req-7f3a")
    try:
        _carry_request_id(headers=headers)  # what Celery calls as it publishes
    finally:
        request_id_var.reset(token)
    assert headers == {"rally_request_id": "req-7f3a"}
    # The worker side: the task runs with the id the message carried, and only then.
    assert current_request_id.apply(headers=headers).get() == "req-7f3a"
    assert current_request_id.apply().get() == ""
    assert request_id_var.get() == ""


def test_json_lines_hold_the_message_level_logger_and_request_id():
    record = logging.LogRecord("rally.request", logging.INFO, __file__, 1,
                               "request id=%s status=%s", ("abc", 200), None)
    token = request_id_var.set("abc")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert {key: line[key] for key in ("level", "logger", "message", "request_id")} == {
        "level": "INFO", "logger": "rally.request", "message": "request id=abc status=200",
        "request_id": "abc"}
    assert line["time"].endswith("+00:00")


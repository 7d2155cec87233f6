"""Structured logs (one line per request, one per Celery task) and the error pages
(400/403/404/500) with DEBUG off: they fit the layout, offer a way back, and the 500 page
renders with no request context at all."""

import logging
import re

import pytest
from celery import shared_task
from django.template.loader import render_to_string
from django.test import Client

pytestmark = pytest.mark.django_db

LINE = re.compile(r"request id=(?P<id>\S+) method=(?P<method>[A-Z]+) path=(?P<path>\S+) "
                  r"status=(?P<status>\d{3}) ms=(?P<ms>\d+\.\d) user=(?P<user>\S+)$")


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = "tests.hardening.urls"
    settings.DEBUG = False


def _request_lines(caplog):
    return [LINE.match(record.getMessage()) for record in caplog.records
            if record.name == "rally.request"]


def test_one_log_line_per_request_with_its_id_and_the_user(caplog, client_for, researcher):
    caplog.set_level(logging.INFO, logger="rally.request")
    client = client_for(researcher)
    response = client.get("/studies/?status=active")
    (line,) = _request_lines(caplog)
    assert line, "the request line is not in the structured format"
    assert line["method"] == "GET" and line["path"] == "/studies/"
    assert line["status"] == "200" and line["user"] == str(researcher.user.pk)
    assert response["X-Request-Id"] == line["id"]

    caplog.clear()
    client.logout()
    client.post("/login/", {"email": "nobody@acme.test", "password": "wrong"})
    (line,) = _request_lines(caplog)
    assert (line["method"], line["path"], line["user"]) == ("POST", "/login/", "-")


def test_a_proxys_request_id_is_kept_and_a_crafted_one_is_not(caplog, client):
    caplog.set_level(logging.INFO, logger="rally.request")
    assert client.get("/login/", HTTP_X_REQUEST_ID="edge-4f2a.91")["X-Request-Id"] == (
        "edge-4f2a.91")
    forged = client.get("/login/", HTTP_X_REQUEST_ID="x status=200 user=1\nINFO fake line")
    assert re.fullmatch(r"[0-9a-f]{16}", forged["X-Request-Id"])
    assert all(_request_lines(caplog)) and len(caplog.records) >= 2
    assert "fake line" not in caplog.text


def test_a_broken_view_is_logged_with_status_500(caplog, failing_urls):
    caplog.set_level(logging.INFO, logger="rally.request")
    response = Client(raise_request_exception=False).get("/_test/broken/")
    assert response.status_code == 500
    (line,) = _request_lines(caplog)
    assert (line["path"], line["status"]) == ("/_test/broken/", "500")


@shared_task(name="tests.hardening.add")
def add(x, y):
    return x + y


@shared_task(name="tests.hardening.explode")
def explode():
    raise ValueError("no")


def test_one_log_line_per_celery_task_with_name_id_outcome_and_ms(caplog):
    caplog.set_level(logging.INFO, logger="rally.task")
    result = add.apply(args=(2, 3), task_id="task-ok-1")
    assert result.get() == 5
    explode.apply(task_id="task-bad-1")
    lines = [record.getMessage() for record in caplog.records if record.name == "rally.task"]
    assert len(lines) == 2
    assert re.fullmatch(r"task id=task-ok-1 name=tests\.hardening\.add outcome=SUCCESS "
                        r"ms=\d+\.\d", lines[0])
    assert re.fullmatch(r"task id=task-bad-1 name=tests\.hardening\.explode outcome=FAILURE "
                        r"ms=\d+\.\d", lines[1])


@pytest.mark.parametrize(("path", "status", "heading"), [
    ("/_test/suspicious/", 400, "Something in that request wasn't right"),
    ("/_test/forbidden/", 403, "You don't have access to this"),
    ("/no-such-page/", 404, "We couldn't find that page"),
    ("/_test/broken/", 500, "Something went wrong on our side"),
])
def test_error_pages_fit_the_layout_and_offer_a_way_back(failing_urls, client_for, researcher,
                                                         path, status, heading):
    client = client_for(researcher)
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == status
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert f"<title>{heading} · Rally</title>" in page
    assert '<main id="main"' in page and "css/rally.css" in page
    assert re.search(r'<a class="button" href="/">Back to Rally</a>', page)
    assert "Traceback" not in page and "a view that breaks" not in page
    if status != 500:  # with its request: the signed-in person keeps the main navigation
        assert 'aria-label="Main"' in page


def test_the_500_page_renders_with_no_request_context():
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page and 'href="/"' in page
    assert 'aria-label="Main"' not in page  # no user: no navigation to guess at

"""Helpers for the sync tests (outbox, webhooks, poller): signed deliveries and a recorded
stand-in for UI where a test must control exactly what UI answers."""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from rally import clock
from recruitment.user_interviews.resources import (
    Applicant,
    ApplicantParticipant,
    ApplicantSource,
    ApplicantStatus,
    Page,
    Qualification,
    Recruit,
    RecruitStatus,
    StudyType,
)
from recruitment.webhooks import sign

SECRET = "whsec_" + base64.b64encode(b"rally test webhook key 24").decode()


def another_secret(word):
    """A well-formed secret other than SECRET (`whsec_` + base64 of a 24-byte key)."""
    return "whsec_" + base64.b64encode(word.encode().ljust(24, b".")).decode()


def event_document(event_id="evt_1", event_type="applicant.created", *, resource_type="applicants",
                   resource_id="app_1", recruit_id="rec_1", created_at=None):
    return {
        "id": event_id, "type": event_type, "apiVersion": "v2",
        "createdAt": (created_at or clock.now()).isoformat(),
        "data": {"resource": {"type": resource_type, "id": resource_id,
                              "recruitId": recruit_id}, "changes": []},
    }


def deliver(client, document=None, *, body=None, secret=SECRET, timestamp=None,
            signature=None, event_id=None, workspace=None):
    """POST a delivery to Rally's receiver as UI would sign it (Standard Webhooks headers; the
    timestamp is the real clock's, as the receiver checks it); to `workspace`'s own receiver
    when one is given."""
    if body is None:
        body = json.dumps(document).encode()
    timestamp = str(int((timestamp or timezone.now()).timestamp()))
    event_id = event_id or (document["id"] if document else "evt_1")
    headers = {
        "HTTP_WEBHOOK_ID": event_id,
        "HTTP_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_WEBHOOK_SIGNATURE": signature or sign(secret, event_id, timestamp, body),
    }
    url = (reverse("recruitment:workspace_webhook", kwargs={"workspace_id": workspace.pk})
           if workspace is not None else reverse("recruitment:webhook"))
    return client.post(url, data=body, content_type="application/json", **headers)


def recruit(recruit_id="rec_1", status=RecruitStatus.RECRUITING, *, updated_at=None,
            external_id=None, declined_reason=None):
    now = updated_at or clock.now()
    return Recruit(
        id=recruit_id, external_id=external_id, status=status,
        study_type=StudyType.INTERVIEW, num_participants=5, duration_minutes=60,
        compensation=None, internal_name="Study", public_title="Study",
        application_url=f"https://ui.example/apply/{recruit_id}",
        declined_reason=declined_reason, screener_version=1, counts=None, billing=None,
        created_at=now, updated_at=now, launched_at=None, closed_at=None)


def applicant(n, status=ApplicantStatus.APPLIED, *, updated_at=None,
              qualification=Qualification.MANUAL_REVIEW, source=ApplicantSource.PANEL):
    moment = updated_at or datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    return Applicant(
        id=f"app_{n}", participant=ApplicantParticipant(id=f"par_{n}", first_name=f"P{n}",
                                                        last_initial="Z"),
        source=source, screener_version=1, screener_responses=(), matched_criteria=(),
        unmet_criteria=(), qualification=qualification, status=status,
        applied_at=moment - timedelta(minutes=1), updated_at=moment)


@dataclass
class RecordedUI:
    """Answers like UI from in-memory state and records every call (name, args)."""

    recruits: dict = field(default_factory=dict)
    applicants: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    fail_with: Exception | None = None

    def _record(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        if self.fail_with is not None:
            raise self.fail_with

    def recruit_get(self, recruit_id):
        self._record("recruit_get", recruit_id)
        return self.recruits[recruit_id]

    def applicants_pages(self, recruit_id, *, updated_since=None, statuses=(), page_size=200):
        self._record("applicants_pages", recruit_id, updated_since=updated_since)
        items = [a for a in self.applicants
                 if updated_since is None or a.updated_at >= updated_since]
        for start in range(0, max(len(items), 1), page_size):
            chunk = tuple(items[start:start + page_size])
            yield Page(items=chunk, current_page=start // page_size + 1, page_size=page_size,
                       total_pages=max(1, -(-len(items) // page_size)),
                       total_count=len(items))


# The sandbox in-process -------------------------------------------------------------------

SANDBOX_URL = "http://testserver/sandbox/ui/api"
SANDBOX_KEY = "rally-dev-key"


class Recorder(httpx.BaseTransport):
    """An httpx transport into Rally's WSGI app (which serves the sandbox) that remembers
    every exchange."""

    def __init__(self):
        from rally.wsgi import application

        self.inner = httpx.WSGITransport(app=application)
        self.exchanges = []

    def handle_request(self, request):
        exchange = [request, None]  # recorded even when the request fails on the way
        self.exchanges.append(exchange)
        exchange[1] = self.inner.handle_request(request)
        return exchange[1]

    def close(self):
        self.inner.close()

    def requests(self, method, path_end):
        return [(request, response) for request, response in self.exchanges
                if request.method == method and request.url.path.endswith(path_end)]


@pytest.fixture
def sandbox_transport(db, settings):
    """The sandbox served in-process, limits out of the way, reviews only when asked."""
    from django.core import signals
    from django.db import close_old_connections

    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_API_KEYS = [SANDBOX_KEY]
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SANDBOX_RATE_LIMIT_BURST = 100_000
    settings.SANDBOX_FAULT_TIMEOUT_SECONDS = 0
    settings.SANDBOX_REVIEW_DELAY_SECONDS = 3600
    settings.SANDBOX_TIME_SCALE = 0.0
    # Like Django's test client: a request's end must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    transport = Recorder()
    yield transport
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def sandbox_ui(sandbox_transport):
    """The production UIClient talking to the sandbox in-process (no real sleeps)."""
    from recruitment.user_interviews.client import UIClient

    with UIClient(base_url=SANDBOX_URL, api_key=SANDBOX_KEY, transport=sandbox_transport,
                  sleep=lambda seconds: None, max_attempts=1) as client:
        yield client


def sandbox_control(client, path, body=None):
    """A sandbox-only control (`_sandbox/...`)."""
    from recruitment.user_interviews.client import MEDIA_TYPE

    response = client.http.post(f"_sandbox/{path}", content=json.dumps(body or {}),
                                headers={"Content-Type": MEDIA_TYPE})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None

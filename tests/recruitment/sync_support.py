"""Helpers for the sync tests (outbox, webhooks, poller): signed deliveries and a recorded
stand-in for UI where a test must control exactly what UI answers."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.urls import reverse

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

SECRET = "whsec_test_secret"


def event_document(event_id="evt_1", event_type="applicant.created", *, resource_type="applicants",
                   resource_id="app_1", recruit_id="rec_1", created_at=None):
    return {
        "id": event_id, "type": event_type, "apiVersion": "v2",
        "createdAt": (created_at or clock.now()).isoformat(),
        "data": {"resource": {"type": resource_type, "id": resource_id,
                              "recruitId": recruit_id}, "changes": []},
    }


def deliver(client, document=None, *, body=None, secret=SECRET, timestamp=None,
            signature=None, event_id=None):
    """POST a delivery to Rally's receiver as UI would sign it."""
    if body is None:
        body = json.dumps(document).encode()
    timestamp = str(int((timestamp or clock.now()).timestamp()))
    headers = {
        "HTTP_X_UI_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_X_UI_WEBHOOK_SIGNATURE": signature or sign(secret, timestamp, body),
    }
    if event_id or document:
        headers["HTTP_X_UI_WEBHOOK_ID"] = event_id or document["id"]
    return client.post(reverse("recruitment:webhook"), data=body,
                       content_type="application/json", **headers)


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

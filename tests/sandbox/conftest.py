"""The sandbox spoken to as Rally's adapter would: versioned, keyed, idempotent requests."""

import json
import uuid

import pytest

from tests.recruitment import jsonapi_schema

API = "/sandbox/ui/api"
MEDIA = "application/vnd.user-interviews.v2+json"
AUTO = object()


class Api:
    def __init__(self, client):
        self.client = client

    def request(self, method, path, body=None, *, key="rally-dev-key", accept=MEDIA,
                idempotency_key=AUTO, raw=None, **headers):
        extra = {}
        if accept is not None:
            extra["HTTP_ACCEPT"] = accept
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if idempotency_key is AUTO and method in ("POST", "PATCH", "DELETE"):
            idempotency_key = str(uuid.uuid4())
        if idempotency_key not in (AUTO, None):
            extra["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        for name, value in headers.items():
            extra["HTTP_" + name.upper()] = value
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        url = path if path.startswith("/sandbox/") else API + path
        response = self.client.generic(method, url, data, content_type=MEDIA, **extra)
        if not response.streaming and response.content and \
                response.get("Content-Type") == MEDIA:
            # Every document the sandbox answers is valid JSON:API (the official schema).
            document = json.loads(response.content)
            assert jsonapi_schema.problems(document) == [], (method, path, document)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(autouse=True)
def _sandbox_settings(settings):
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_RATE_LIMIT_BURST = 100_000
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SANDBOX_FAULT_TIMEOUT_SECONDS = 0
    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0.0
    settings.SANDBOX_REVIEW_DELAY_SECONDS = 20
    settings.SANDBOX_TIME_SCALE = 60.0


@pytest.fixture
def api(client, db):
    return Api(client)


def recruit_body(**overrides):
    body = {
        "externalId": str(uuid.uuid4()),
        "internalName": "Checkout interviews",
        "publicTitle": "Talk to us about online shopping",
        "publicDescription": "A 45-minute video call about how you shop online.",
        "studyType": "interview",
        "numParticipants": 3,
        "durationMinutes": 45,
        "compensation": {"amountCents": 7500, "currency": "USD"},
        "requireApproval": True,
        "timezone": "America/New_York",
        "audience": {"type": "b2c", "countries": ["US"], "usStates": [], "criteria": []},
        "screener": {"version": 1, "questions": [
            {"uid": "q1", "type": "single_choice", "text": "How often do you shop online?",
             "required": True, "options": [{"uid": "o1", "label": "Weekly"},
                                           {"uid": "o2", "label": "Never",
                                            "disqualify": True}]},
            {"uid": "q2", "type": "scale", "text": "How much do you enjoy it?",
             "required": True, "min": 1, "max": 7},
            {"uid": "q3", "type": "long_text", "text": "Tell us about your last purchase",
             "required": True},
        ]},
        "schedulingUrl": "http://rally.test/book/study",
    }
    body.update(overrides)
    return {"data": {"type": "recruits", "attributes": body}}


@pytest.fixture
def make_recruit(api):
    """Create a recruit over the API and move it to `status`."""

    def make(status="draft", **overrides):
        response = api.post("/recruits", recruit_body(**overrides))
        assert response.status_code == 201, response.content
        recruit_id = response.json()["data"]["id"]
        if status != "draft":
            assert api.post(f"/recruits/{recruit_id}/launches").status_code == 202
        if status in ("recruiting", "paused", "declined", "filled", "closed"):
            outcome = "decline" if status == "declined" else "approve"
            assert api.post(f"/_sandbox/recruits/{recruit_id}/review",
                            {"outcome": outcome}).status_code == 200
        if status == "paused":
            assert api.post(f"/recruits/{recruit_id}/pauses").status_code == 200
        if status == "closed":
            assert api.post(f"/recruits/{recruit_id}/closures").status_code == 200
        return recruit_id

    return make

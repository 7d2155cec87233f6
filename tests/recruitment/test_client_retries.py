"""The client's retry policy, against a scripted transport (no sandbox, no sleeping)."""

import json

import httpx
import pytest

from recruitment.user_interviews import errors
from recruitment.user_interviews.client import MEDIA_TYPE, UIClient, idempotency_key

RECRUIT = {"data": {"id": "rec_1", "type": "recruits", "attributes": {
    "status": "pending_review", "studyType": "interview", "numParticipants": 5,
    "createdAt": "2026-11-25T09:00:00Z", "updatedAt": "2026-11-25T09:00:00Z"}}}


class Script:
    """Answers requests from a list of responses (or exceptions), recording each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ui_response(status, body=None, headers=None):
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content,
                          headers={"Content-Type": MEDIA_TYPE, **(headers or {})})


@pytest.fixture
def naps():
    return []


@pytest.fixture
def make_client(naps):
    def build(script, **options):
        return UIClient(base_url="http://ui.test/api", api_key="k",
                        transport=httpx.MockTransport(script), sleep=naps.append, **options)
    return build


KEY = idempotency_key("launch_recruit", "2c1b0e9a-0000-4000-8000-000000000001")


def test_idempotency_keys_are_deterministic_per_operation_and_subject():
    assert idempotency_key("launch_recruit", "2c1b0e9a-0000-4000-8000-000000000001") == KEY
    assert idempotency_key("close_recruit", "2c1b0e9a-0000-4000-8000-000000000001") != KEY


def test_every_request_carries_auth_version_and_key(make_client):
    script = Script(ui_response(202, RECRUIT))
    make_client(script).recruit_launch("rec_1", key=KEY)
    request = script.requests[0]
    assert request.url == "http://ui.test/api/recruits/rec_1/launches"
    assert request.headers["Authorization"] == "Bearer k"
    assert request.headers["Accept"] == MEDIA_TYPE
    assert request.headers["Idempotency-Key"] == KEY


def test_a_mutation_without_a_key_is_never_sent(make_client):
    script = Script()
    with pytest.raises(ValueError, match="idempotency key"):
        make_client(script).recruit_launch("rec_1", key="")
    assert script.requests == []


def test_500s_then_success_retry_with_the_same_key_and_body(make_client, naps):
    script = Script(ui_response(500), ui_response(503), ui_response(202, RECRUIT))
    recruit = make_client(script).recruit_launch("rec_1", key=KEY)
    assert recruit.id == "rec_1"
    assert {r.headers["Idempotency-Key"] for r in script.requests} == {KEY}
    assert len(naps) == 2 and naps[0] <= naps[1] * 2  # backed off between attempts


def test_persistent_500s_on_a_mutation_end_as_outcome_unknown(make_client, naps):
    script = Script(*[ui_response(500)] * 3)
    with pytest.raises(errors.OutcomeUnknown):
        make_client(script).recruit_launch("rec_1", key=KEY)
    assert len(script.requests) == 3


def test_read_timeout_on_a_get_is_retryable_after_the_attempts(make_client):
    script = Script(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(errors.Retryable) as caught:
        make_client(script).recruit_get("rec_1")
    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert len(script.requests) == 3


def test_connection_refused_is_retryable_not_unknown(make_client):
    script = Script(*[httpx.ConnectError("refused")] * 2)
    with pytest.raises(errors.Retryable) as caught:
        make_client(script, max_attempts=2).recruit_launch("rec_1", key=KEY)
    assert not isinstance(caught.value, errors.OutcomeUnknown)


def test_429_waits_as_told_and_does_not_use_up_attempts(make_client, naps):
    limited = ui_response(429, {"errors": [{"status": "429", "code": "rate_limited"}]},
                          {"Retry-After": "7"})
    script = Script(limited, limited, limited, ui_response(202, RECRUIT))
    make_client(script).recruit_launch("rec_1", key=KEY)
    assert naps == [7.0, 7.0, 7.0]


def test_429_beyond_the_budget_raises_rate_limited_without_waiting(make_client, naps):
    script = Script(ui_response(429, None, {"Retry-After": "3600"}))
    with pytest.raises(errors.RateLimited) as caught:
        make_client(script).recruit_get("rec_1")
    assert caught.value.retry_after == 3600
    assert naps == []


@pytest.mark.parametrize(("status", "code", "kind"), [
    (400, "", errors.Permanent),
    (401, "", errors.AuthError),
    (404, "", errors.NotFound),
    (406, "", errors.Permanent),
    (409, "invalid_state_transition", errors.InvalidTransition),
    (422, "validation_failed", errors.ValidationFailed),
    (422, "locked_after_launch", errors.LockedAfterLaunch),
    (422, "idempotency_key_reused", errors.IdempotencyKeyReused),
])
def test_definite_4xx_raise_at_once_without_retry(make_client, naps, status, code, kind):
    body = {"errors": [{"status": str(status), "code": code, "detail": "No.",
                        "source": {"pointer": "/data/attributes/numParticipants"},
                        "meta": {"allowedActions": ["closures"]}}]}
    script = Script(ui_response(status, body))
    with pytest.raises(kind) as caught:
        make_client(script).recruit_launch("rec_1", key=KEY)
    assert isinstance(caught.value, errors.Permanent)
    assert len(script.requests) == 1 and naps == []
    if status == 409:
        assert caught.value.allowed_actions == ("closures",)
    if code == "validation_failed":
        assert caught.value.pointer == "/data/attributes/numParticipants"


def test_idempotency_conflict_is_retried_later(make_client):
    busy = ui_response(409, {"errors": [{"status": "409", "code": "idempotency_conflict"}]})
    script = Script(busy, ui_response(202, RECRUIT))
    assert make_client(script).recruit_launch("rec_1", key=KEY).id == "rec_1"


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"data": {"id": "rec_1"}}'])
def test_malformed_2xx_is_outcome_unknown_and_not_resent(make_client, body):
    script = Script(httpx.Response(201, content=body))
    with pytest.raises(errors.MalformedResponse) as caught:
        make_client(script).recruit_launch("rec_1", key=KEY)
    assert isinstance(caught.value, errors.OutcomeUnknown)
    assert len(script.requests) == 1


def test_paged_iteration_streams_until_the_last_page(make_client):
    def page(number):
        item = {"id": f"rec_{number}", "type": "recruits",
                "attributes": RECRUIT["data"]["attributes"]}
        return ui_response(200, {"data": [item], "links": {}, "meta": {"pagination": {
            "currentPage": number, "pageSize": 1, "totalPages": 3, "totalCount": 3}}})
    script = Script(page(1), page(2), page(3))
    pages = make_client(script).recruits_pages(page_size=1)
    first = next(pages)
    assert len(script.requests) == 1  # nothing fetched ahead
    assert [first.items[0].id] + [p.items[0].id for p in pages] == ["rec_1", "rec_2", "rec_3"]
    assert script.requests[2].url.params["page[number]"] == "3"


def test_503_with_retry_after_waits_that_long(make_client, naps):
    script = Script(ui_response(503, None, {"Retry-After": "2"}), ui_response(202, RECRUIT))
    make_client(script).recruit_launch("rec_1", key=KEY)
    assert naps == [2.0]


def test_endless_429s_without_a_wait_end_as_rate_limited(make_client):
    script = Script(*[ui_response(429, None, {"Retry-After": "0"})] * 20)
    with pytest.raises(errors.RateLimited):
        make_client(script).recruit_get("rec_1")
    assert len(script.requests) == 11

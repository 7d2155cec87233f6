"""Transport rules every endpoint shares: version, key, idempotency, rate limit, faults."""

import json
import uuid

import httpx
import pytest

from rally import clock
from sandbox.gateway import _request_hash
from sandbox.models import ApiKey, Fault, IdempotencyRecord, Recruit
from tests.sandbox.conftest import recruit_body


def test_wrong_api_version_is_not_acceptable(api):
    response = api.get("/characteristics", accept="application/vnd.user-interviews.v1+json")
    assert response.status_code == 406
    assert response.json()["errors"][0]["code"] == "not_acceptable"


def test_v2_accept_is_served(api):
    assert api.get("/characteristics").status_code == 200
    assert api.get("/characteristics")["Content-Type"] == "application/vnd.user-interviews.v2+json"
    for listed in ("application/vnd.user-interviews.v2+json, */*;q=0.1",
                   "text/html, application/vnd.user-interviews.v2+json;q=0.9",
                   "APPLICATION/VND.USER-INTERVIEWS.V2+JSON"):
        assert api.get("/characteristics", accept=listed).status_code == 200, listed


@pytest.mark.parametrize("accept", ["text/html", "application/json", "*/*", None, "",
                                    "application/vnd.user-interviews.v2+json;q=0",
                                    "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_anything_but_the_v2_media_type_is_not_acceptable(api, accept):
    response = api.get("/characteristics", accept=accept)
    assert response.status_code == 406
    assert response.json()["errors"][0]["code"] == "not_acceptable"
    assert api.post("/webhook_subscriptions", {"url": "https://x.test/", "eventTypes": []},
                    accept=accept).status_code == 406


@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_missing_or_unknown_key_is_unauthorized(api, key):
    response = api.get("/recruits", key=key)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "unauthorized"
    assert "Bearer" in response["WWW-Authenticate"]


def test_keys_stored_in_the_sandbox_table_are_accepted(api):
    ApiKey.objects.create(key="partner-key-1", created_at=clock.now())
    assert api.get("/recruits", key="partner-key-1").status_code == 200


def test_mutation_without_idempotency_key_is_refused_and_applies_nothing(api):
    response = api.post("/recruits", recruit_body(), idempotency_key=None)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "idempotency_key_missing"
    assert not Recruit.objects.exists()


def test_same_key_and_body_replays_the_stored_response(api):
    body, key = recruit_body(), str(uuid.uuid4())
    first = api.post("/recruits", body, idempotency_key=key)
    again = api.post("/recruits", body, idempotency_key=key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert Recruit.objects.count() == 1


def test_same_key_with_another_body_is_refused(api):
    key = str(uuid.uuid4())
    api.post("/recruits", recruit_body(), idempotency_key=key)
    response = api.post("/recruits", recruit_body(internalName="Other"), idempotency_key=key)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Recruit.objects.count() == 1


def test_same_key_while_the_first_is_running_conflicts(api):
    body, key = recruit_body(), str(uuid.uuid4())
    # What a concurrent first request leaves behind: its claim, committed before it works.
    IdempotencyRecord.objects.create(
        api_key="rally-dev-key", key=key, created_at=clock.now(),
        request_hash=_request_hash("POST", "/recruits", body))
    response = api.post("/recruits", body, idempotency_key=key)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_conflict"
    assert not Recruit.objects.exists()


def test_an_idempotency_key_expires_after_24_hours(api):
    body, key = recruit_body(), str(uuid.uuid4())
    api.post("/recruits", body, idempotency_key=key)
    clock.advance(hours=25)
    response = api.post("/recruits", recruit_body(internalName="Fresh"), idempotency_key=key)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_a_stored_error_replays_too(api, make_recruit):
    recruit_id = make_recruit("closed")
    key = str(uuid.uuid4())
    first = api.post(f"/recruits/{recruit_id}/pauses", idempotency_key=key)
    again = api.post(f"/recruits/{recruit_id}/pauses", idempotency_key=key)
    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"


def test_malformed_json_is_a_400(api):
    response = api.post("/recruits", raw="{not json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "malformed"


def test_a_body_that_is_not_an_object_is_a_400(api):
    assert api.post("/recruits", raw="[1, 2]").status_code == 400
    assert api.post("/recruits", raw='{"data": 3}').status_code == 400


def test_unknown_endpoint_and_wrong_method(api):
    assert api.get("/nothing-here").status_code == 404
    assert api.get("/nothing-here").json()["errors"][0]["code"] == "not_found"
    response = api.delete("/characteristics")
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_rate_limit_headers_on_every_response(api, settings):
    # One token every 10 s, so a slow test run cannot refill the bucket between requests.
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 6, 20
    response = api.get("/characteristics")
    assert response["X-RateLimit-Limit"] == "6"
    assert response["X-RateLimit-Remaining"] == "19"
    assert int(response["X-RateLimit-Reset"]) > 0
    assert api.get("/nothing")["X-RateLimit-Remaining"] == "18"
    assert api.get("/recruits", key=None)["X-RateLimit-Limit"] == "6"  # 401, its own bucket
    assert api.get("/recruits", accept="application/vnd.user-interviews.v1+json")[
        "X-RateLimit-Remaining"] == "17"  # 406
    assert api.delete("/characteristics")["X-RateLimit-Remaining"] == "16"  # 405


def test_burst_exhausted_answers_429_with_retry_after(api, settings):
    # One token every 10 s, so a slow test run cannot refill the bucket by accident.
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 6, 20
    statuses = [api.get("/recruits").status_code for _ in range(20)]
    assert statuses == [200] * 20
    refused = api.get("/recruits")
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 10
    assert refused["X-RateLimit-Remaining"] == "0"


def test_tokens_refill_with_the_clock(api, settings):
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 6, 2
    assert [api.get("/recruits").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/recruits")["Retry-After"] == "10"
    clock.advance(seconds=10)
    assert api.get("/recruits").status_code == 200


def test_rate_limits_are_per_key(api, settings):
    # One token a minute, so a slow test run cannot refill the bucket by accident.
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 1, 1
    ApiKey.objects.create(key="second", created_at=clock.now())
    assert api.get("/recruits").status_code == 200
    assert api.get("/recruits").status_code == 429
    assert api.get("/recruits", key="second").status_code == 200


def test_a_limited_mutation_claims_no_idempotency_key(api, settings):
    # One token a minute, so a slow test run cannot refill the bucket by accident.
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 1, 1
    api.get("/recruits")
    key = str(uuid.uuid4())
    assert api.post("/recruits", recruit_body(), idempotency_key=key).status_code == 429
    assert not IdempotencyRecord.objects.exists()


# Faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("status,code", [(500, "internal_error"), (503, "unavailable"),
                                         (429, "rate_limited")])
def test_injected_status_fails_the_next_matching_requests_then_clears(api, status, code):
    assert api.post("/_sandbox/faults", {"path": "/recruits", "status": status,
                                         "count": 2}).status_code == 201
    for _ in range(2):
        response = api.post("/recruits", recruit_body())
        assert response.status_code == status
        assert response.json()["errors"][0]["code"] == code
    assert not Recruit.objects.exists()
    assert api.post("/recruits", recruit_body()).status_code == 201


def test_a_failed_request_can_be_retried_with_its_key(api):
    api.post("/_sandbox/faults", {"path": "/recruits", "status": 500})
    body, key = recruit_body(), str(uuid.uuid4())
    assert api.post("/recruits", body, idempotency_key=key).status_code == 500
    retried = api.post("/recruits", body, idempotency_key=key)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_faults_match_globs_and_methods(api, make_recruit):
    recruit_id = make_recruit()
    api.post("/_sandbox/faults", {"path": "/recruits/*", "method": "GET", "status": 503})
    assert api.patch(f"/recruits/{recruit_id}", {"internalName": "x"}).status_code == 200
    assert api.get(f"/recruits/{recruit_id}").status_code == 503
    assert api.get(f"/recruits/{recruit_id}").status_code == 200


def _consume(response):
    return b"".join(response.streaming_content)


def test_timeout_before_applies_nothing(api):
    api.post("/_sandbox/faults", {"path": "/recruits", "timeout": "before"})
    response = api.post("/recruits", recruit_body())
    with pytest.raises(httpx.TimeoutException):
        _consume(response)
    assert not Recruit.objects.exists()


def test_timeout_after_applies_then_the_retry_replays(api):
    api.post("/_sandbox/faults", {"path": "/recruits", "timeout": "after"})
    body, key = recruit_body(), str(uuid.uuid4())
    response = api.post("/recruits", body, idempotency_key=key)
    with pytest.raises(httpx.TimeoutException):
        _consume(response)
    assert Recruit.objects.count() == 1
    retried = api.post("/recruits", body, idempotency_key=key)
    assert retried.status_code == 201
    assert retried["Idempotent-Replayed"] == "true"
    assert Recruit.objects.count() == 1


def test_timeout_reaches_an_httpx_client_as_a_timeout(transactional_db):
    # A real WSGI round trip closes the connection at the end of each request.

    from rally.wsgi import application

    with httpx.Client(transport=httpx.WSGITransport(app=application),
                      base_url="http://testserver/sandbox/ui/api",
                      headers={"Authorization": "Bearer rally-dev-key",
                               "Accept": "application/vnd.user-interviews.v2+json"}) as client:
        client.post("/_sandbox/faults", json={"path": "/characteristics", "timeout": True})
        with pytest.raises(httpx.ReadTimeout):
            client.get("/characteristics")
        assert client.get("/characteristics").status_code == 200


@pytest.mark.parametrize("body", [
    {"path": "/recruits"},
    {"path": "/recruits", "status": 500, "timeout": "before"},
    {"path": "/recruits", "status": 418},
    {"path": "recruits", "status": 500},
    {"path": "/recruits", "timeout": "sometimes"},
    {"path": "/recruits", "status": 500, "count": 0},
    {"path": "/recruits", "status": 500, "colour": "red"},
])
def test_bad_fault_requests_are_refused(api, body):
    response = api.post("/_sandbox/faults", body)
    assert response.status_code == 422
    assert not Fault.objects.exists()


def test_faults_can_be_listed_and_cleared(api):
    api.post("/_sandbox/faults", {"path": "/recruits", "status": 500, "count": 3})
    listed = api.get("/_sandbox/faults").json()["data"]
    assert listed[0]["attributes"]["remaining"] == 3
    assert api.delete("/_sandbox/faults").status_code == 204
    assert api.get("/_sandbox/faults").json()["data"] == []


def test_controls_are_not_rate_limited_or_faulted(api, settings):
    # One token a minute, so a slow test run cannot refill the bucket by accident.
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 1, 1
    for _ in range(3):
        assert api.get("/_sandbox/clock").status_code == 200


def test_error_documents_have_the_contract_shape(api):
    response = api.post("/recruits", recruit_body(numParticipants=0))
    error = response.json()["errors"][0]
    assert response.status_code == 422
    assert set(error) == {"status", "code", "title", "detail", "source"}
    assert error["status"] == "422"
    assert error["source"]["pointer"] == "/data/attributes/numParticipants"
    json.dumps(response.json())

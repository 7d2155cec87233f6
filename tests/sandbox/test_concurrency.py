"""Races on real Postgres: one idempotency key, one token bucket, one payout key."""

import json
import threading
import time
import uuid

import pytest
from django.db import connection
from django.test import Client

from sandbox import services
from sandbox.models import Payment, Recruit
from tests.sandbox.conftest import API, MEDIA, recruit_body
from tests.sandbox.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _post(path, body, key):
    response = Client().post(API + path, json.dumps(body), content_type=MEDIA,
                             HTTP_ACCEPT=MEDIA, HTTP_AUTHORIZATION="Bearer rally-dev-key",
                             HTTP_IDEMPOTENCY_KEY=key)
    return response.status_code


def _race(calls):
    results, barrier = [], threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(results)


def test_the_same_key_at_the_same_time_runs_once(monkeypatch):
    original = services.recruit_create

    def slow_create(**kwargs):
        time.sleep(0.5)
        return original(**kwargs)

    monkeypatch.setattr(services, "recruit_create", slow_create)
    body, key = recruit_body(), str(uuid.uuid4())
    statuses = _race([lambda: _post("/recruits", body, key)] * 2)
    assert statuses == [201, 409]
    assert Recruit.objects.count() == 1


def test_the_token_bucket_is_shared_by_concurrent_requests(settings):
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE, settings.SANDBOX_RATE_LIMIT_BURST = 1, 10

    def burst():
        return [Client().get(API + "/recruits", HTTP_ACCEPT=MEDIA,
                             HTTP_AUTHORIZATION="Bearer rally-dev-key").status_code
                for _ in range(5)]

    statuses = [status for batch in _race([burst] * 4) for status in batch]
    assert statuses.count(200) == 10 and statuses.count(429) == 10


def test_one_payout_key_pays_once_under_a_race():
    session = SessionFactory(status="completed", applicant__status="completed")
    body = {"externalId": "payout-race", "trigger": "auto_24h"}
    statuses = _race([lambda: _post(f"/sessions/{session.id}/payments", body,
                                    str(uuid.uuid4()))] * 5)
    assert statuses == [201] * 5
    assert Payment.objects.count() == 1

"""Webhook subscriptions and deliveries: signing, retries by the clock, disabling."""

import base64
import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from rally import clock
from sandbox import services, webhooks
from sandbox.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.sandbox.factories import ApplicantFactory


class Receiver:
    """Rally's webhook endpoint as seen from outside: records requests, answers `status`."""

    def __init__(self):
        self.requests = []
        self.status = 200

    def __call__(self, request):
        self.requests.append(request)
        if isinstance(self.status, Exception):
            raise self.status
        return httpx.Response(self.status, json={"ok": True})


@pytest.fixture
def receiver(monkeypatch):
    receiver = Receiver()
    monkeypatch.setattr(webhooks, "http_client",
                        lambda: httpx.Client(transport=httpx.MockTransport(receiver)))
    return receiver


@pytest.fixture
def subscription(api):
    response = api.post("/webhook_subscriptions",
                        {"url": "https://rally.test/webhooks/user-interviews/",
                         "eventTypes": []})
    assert response.status_code == 201
    return response.json()["data"]


def verify(request, secret):
    """What any Standard Webhooks receiver does: the official library's verification."""
    try:
        Webhook(secret).verify(request.content, dict(request.headers))
    except WebhookVerificationError:
        return False
    return True


def test_create_shows_the_secret_once(api, subscription):
    secret = subscription["attributes"]["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    shown = api.get(f"/webhook_subscriptions/{subscription['id']}").json()["data"]
    assert "secret" not in shown["attributes"]
    listed = api.get("/webhook_subscriptions").json()["data"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    assert "secret" not in listed[0]["attributes"]


@pytest.mark.parametrize("body", [{"url": "not a url"}, {"eventTypes": []},
                                  {"url": "https://x.test/", "eventTypes": ["recruit.exploded"]},
                                  {"url": "https://x.test/", "eventTypes": "ping"}])
def test_bad_subscriptions_are_422(api, body):
    assert api.post("/webhook_subscriptions", body).status_code == 422
    assert not WebhookSubscription.objects.exists()


def test_delete_subscription(api, subscription):
    assert api.delete(f"/webhook_subscriptions/{subscription['id']}").status_code == 204
    assert api.get(f"/webhook_subscriptions/{subscription['id']}").status_code == 404


def test_ping_is_signed_with_the_secret(api, subscription, receiver):
    response = api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    assert response.status_code == 202
    assert webhooks.deliveries_send_due() == 1
    request = receiver.requests[0]
    assert verify(request, subscription["attributes"]["secret"])
    envelope = json.loads(request.content)
    assert envelope["type"] == "ping" and envelope["apiVersion"] == "v2"
    assert request.headers["webhook-id"] == envelope["id"]
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 5
    assert request.headers["webhook-signature"].startswith("v1,")
    assert not any(name.lower().startswith("x-ui-webhook") for name in request.headers)


def test_a_changed_byte_breaks_the_signature(api, subscription, receiver):
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    request = receiver.requests[0]
    tampered = httpx.Request("POST", request.url, headers=request.headers,
                             content=request.content.replace(b"ping", b"pong"))
    assert not verify(tampered, subscription["attributes"]["secret"])
    assert not verify(request, "whsec_" + base64.b64encode(b"another key 24 bytes long").decode())


def test_rotation_signs_with_both_secrets_for_a_day(api, subscription, receiver):
    old_secret = subscription["attributes"]["secret"]
    rotated = api.post(f"/webhook_subscriptions/{subscription['id']}/secret_rotations")
    new_secret = rotated.json()["data"]["attributes"]["secret"]
    assert new_secret != old_secret
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(request, old_secret) and verify(request, new_secret)
    clock.advance(hours=25)
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    later = receiver.requests[-1]
    assert verify(later, new_secret) and not verify(later, old_secret)


def test_every_change_sends_a_thin_event(api, subscription, receiver, make_recruit):
    recruit_id = make_recruit("recruiting")
    applicant = ApplicantFactory(recruit_id=recruit_id)
    api.post(f"/applicants/{applicant.id}/approvals")
    webhooks.deliveries_send_due()
    envelopes = [json.loads(r.content) for r in receiver.requests]
    types = [e["type"] for e in envelopes]
    assert types.count("recruit.status_changed") == 2  # launched, reviewed
    approved = next(e for e in envelopes if e["type"] == "applicant.status_changed")
    assert approved["data"] == {
        "resource": {"type": "applicants", "id": applicant.id, "recruitId": recruit_id},
        "changes": [{"field": "status", "from": "applied", "to": "approved"}]}
    assert all(verify(r, subscription["attributes"]["secret"]) for r in receiver.requests)


def test_subscriptions_get_only_their_event_types(api, receiver, make_recruit):
    api.post("/webhook_subscriptions", {"url": "https://rally.test/hooks",
                                        "eventTypes": ["applicant.created"]})
    recruit_id = make_recruit("recruiting")
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 2})
    webhooks.deliveries_send_due()
    assert [json.loads(r.content)["type"] for r in receiver.requests] == ["applicant.created"] * 2


def test_failures_retry_on_the_backoff_schedule_by_the_clock(api, subscription, receiver):
    receiver.status = 500
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    assert webhooks.deliveries_send_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status == 500
    for delay in (1, 5, 30, 120):
        assert webhooks.deliveries_send_due() == 0  # not due yet
        clock.advance(seconds=delay * 60 - 1)
        assert webhooks.deliveries_send_due() == 0
        clock.advance(seconds=1)
        assert webhooks.deliveries_send_due() == 1
    receiver.status = 204
    clock.advance(hours=6)
    assert webhooks.deliveries_send_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 6
    log = api.get(f"/webhook_subscriptions/{subscription['id']}/deliveries").json()["data"]
    assert log[0]["attributes"]["delivered"] is True
    assert log[0]["attributes"]["attempts"] == 6
    assert log[0]["attributes"]["responseStatus"] == 204


def test_connection_errors_count_as_failures(api, subscription, receiver):
    receiver.status = httpx.ConnectError("refused")
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "ConnectError" in delivery.last_error


def test_gives_up_after_the_last_retry(api, subscription, receiver):
    receiver.status = 503
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    for minutes in (1, 5, 30, 120, 360):
        clock.advance(seconds=minutes * 60)
        webhooks.deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 6
    assert WebhookSubscription.objects.get().active  # under 24 h of failures


def test_a_subscription_failing_for_24_hours_is_disabled(api, subscription, receiver):
    receiver.status = 500
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    clock.advance(hours=24)
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    found = WebhookSubscription.objects.get()
    assert not found.active and found.disabled_at
    shown = api.get(f"/webhook_subscriptions/{subscription['id']}").json()["data"]
    assert shown["attributes"]["active"] is False
    assert not WebhookDelivery.objects.filter(status="pending").exists()


def test_a_success_clears_the_failing_streak(api, subscription, receiver):
    receiver.status = 500
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    webhooks.deliveries_send_due()
    receiver.status = 200
    clock.advance(seconds=60)
    webhooks.deliveries_send_due()
    assert WebhookSubscription.objects.get().failing_since is None


def test_a_claimed_delivery_is_not_sent_twice(api, subscription, receiver):
    api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    claimed = webhooks._claim_due(10)
    assert len(claimed) == 1
    assert webhooks._claim_due(10) == []


def test_events_are_recorded_even_without_subscriptions(api, make_recruit):
    make_recruit("pending_review")
    assert WebhookEvent.objects.filter(type="recruit.status_changed").count() == 1
    assert not WebhookDelivery.objects.exists()


def test_payment_events_follow_each_step(api, subscription, receiver):
    from tests.sandbox.factories import PaymentFactory

    PaymentFactory()
    services.payments_advance()
    services.payments_advance()
    webhooks.deliveries_send_due()
    moves = [json.loads(r.content)["data"]["changes"][0]["to"] for r in receiver.requests]
    assert moves == ["processing", "paid"]


def test_the_delivery_log_pages(api, subscription):
    for _ in range(3):
        api.post(f"/webhook_subscriptions/{subscription['id']}/tests")
    page = api.get(f"/webhook_subscriptions/{subscription['id']}/deliveries?page[size]=2")
    assert page.json()["meta"]["pagination"]["totalCount"] == 3
    assert api.get("/webhook_subscriptions/whs_nope/deliveries").status_code == 404


def test_rotated_secrets_expire(subscription):
    found = WebhookSubscription.objects.get()
    now = clock.now()
    found.secrets.append({"secret": "whsec_old",
                          "expiresAt": webhooks.iso(now - timedelta(seconds=1))})
    assert webhooks.live_secrets(found, now) == [found.secrets[0]["secret"]]

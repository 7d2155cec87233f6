"""/metrics for Prometheus: request latency, outbox backlog and oldest age, payouts due and
overdue, webhook lag and 429s from UI; behind a bearer token."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Payout
from rally import clock
from rally.services import outbox_enqueue
from recruitment.user_interviews.ratelimit import rate_limited_record
from tests.billing.factories import PayoutFactory
from tests.recruitment.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-1"


def _scrape(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def _value(text, name):
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing"
    return float(match.group(1))


@pytest.fixture(autouse=True)
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_are_off_without_the_token(client, settings):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_the_figures_follow_the_outbox_webhooks_and_429s(client, workspace, monkeypatch):
    monkeypatch.setattr("rally.services.outbox_dispatch", lambda pk: None)
    before = _scrape(client)
    assert _value(before, "rally_outbox_backlog") == 0
    assert _value(before, "rally_webhook_lag_seconds") == 0
    client.get(reverse("login"))  # a request observed for the latency histogram
    outbox_enqueue(workspace=workspace, operation="pause_recruit", subject="s", payload={})
    WebhookEventFactory(event_id="evt_1", type="ping", payload={})
    rate_limited_record()
    clock.advance(seconds=120)
    text = _scrape(client)
    assert _value(text, "rally_outbox_backlog") == 1
    assert 119 <= _value(text, "rally_outbox_oldest_age_seconds") <= 130
    assert 119 <= _value(text, "rally_webhook_lag_seconds") <= 130
    assert _value(text, "rally_ui_rate_limited_total") == _value(
        before, "rally_ui_rate_limited_total") + 1
    assert 'rally_http_request_duration_seconds_count{method="GET",status="2xx"}' in text


def _payout(workspace, due_in):
    now = clock.now()
    return PayoutFactory(workspace=workspace, participant_label="Ada L.",
                         amount=Decimal("50.00"), due_at=now + due_in)


def test_payouts_due_and_overdue(client, workspace):
    _payout(workspace, timedelta(hours=1))  # not due yet
    _payout(workspace, timedelta(seconds=-10))  # due, within two sweeps
    _payout(workspace, timedelta(minutes=-5))  # overdue
    sent = _payout(workspace, timedelta(hours=-2))
    Payout.objects.filter(pk=sent.pk).update(state=Payout.State.SENT)
    text = _scrape(client)
    assert (_value(text, "rally_payouts_due"), _value(text, "rally_payouts_overdue")) == (2, 1)

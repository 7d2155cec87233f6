"""Redis down while the app serves (QUALITY.md, Crashes): sign-in, pages and the webhook
receiver keep answering. Redis is only a cache and a broker: the login throttle and the
test clock's memo fail safe, and a webhook is stored before anything is queued, so
nothing is lost (the sweeper queues it when Redis is back)."""

import socket

import pytest
from django.test import Client
from django.urls import reverse

from rally import clock
from recruitment.models import WebhookEvent
from tests.conftest import PASSWORD
from tests.recruitment.sync_support import deliver, event_document

pytestmark = pytest.mark.django_db


def _a_port_nobody_listens_on():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down():
    """The cache and the broker point at a Redis that is not there (until the test ends:
    the shared fixtures empty the real cache afterwards)."""
    from django.test import override_settings

    from rally.celery import app

    url = f"redis://127.0.0.1:{_a_port_nobody_listens_on()}/1"
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": url}}
    previous = app.conf.broker_url
    # SANDBOX_ENABLED: the test clock reads its offset through the cache.
    with override_settings(CACHES=caches, SANDBOX_ENABLED=True):
        clock.forget()
        app.conf.broker_url = url
        try:
            yield
        finally:
            app.conf.broker_url = previous
            clock.forget()


def test_sign_in_and_pages_keep_answering_with_redis_down(redis_down, admin):
    client = Client()
    refused = client.post(reverse("login"), {"email": admin.user.email, "password": "wrong"})
    assert refused.status_code in (200, 400)
    signed_in = client.post(reverse("login"), {"email": admin.user.email,
                                               "password": PASSWORD})
    assert signed_in.status_code == 302
    for name in ("home", "studies:study_list", "billing:budgets"):
        assert client.get(reverse(name)).status_code == 200, name


def test_the_webhook_receiver_keeps_answering_and_loses_nothing(redis_down, webhook_endpoint):
    response = deliver(Client(), event_document("evt_redis_down"))
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(event_id="evt_redis_down").exists()

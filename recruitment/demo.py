"""Demo seed: subscribe Rally's webhook receiver at the sandbox and keep the secret.

The sandbox is not running while `seed_demo` runs, so the adapter reaches it in-process
(httpx's WSGI transport into Rally's own app, which serves the sandbox in development).
"""

import logging

import httpx
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.urls import reverse

logger = logging.getLogger(__name__)


def webhook_url():
    return settings.RALLY_BASE_URL.rstrip("/") + reverse("recruitment:webhook")


def seed(context):
    if not settings.SANDBOX_ENABLED:
        return
    from rally.wsgi import application
    from recruitment.user_interviews.client import UIClient
    from recruitment.webhooks import webhook_endpoint_ensure

    # An in-process request must not close the seed's connection (it is mid-transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with UIClient.from_settings(transport=httpx.WSGITransport(app=application)) as client:
            endpoint = webhook_endpoint_ensure(client=client, url=webhook_url())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    logger.info("webhook subscription %s delivers to %s", endpoint.ui_subscription_id,
                endpoint.url)

"""Demo seed: fill the criteria catalog from the sandbox, and subscribe Rally's webhook
receiver there and keep the secret.

The sandbox is not running while `seed_demo` runs, so the adapter reaches it in-process
(httpx's WSGI transport into Rally's own app, which serves the sandbox in development).
The exchange runs in a thread of its own: the sandbox commits its own transactions, which
cannot nest inside the seed's.
"""

import logging
import threading

import httpx
from django.conf import settings
from django.db import connections
from django.urls import reverse

logger = logging.getLogger(__name__)


def webhook_url():
    return settings.RALLY_BASE_URL.rstrip("/") + reverse("recruitment:webhook")


def _subscribe():
    from rally.wsgi import application
    from recruitment.services import criteria_catalog_sync
    from recruitment.user_interviews.client import UIClient
    from recruitment.webhooks import webhook_endpoint_ensure

    with UIClient.from_settings(transport=httpx.WSGITransport(app=application)) as client:
        criteria_catalog_sync(client=client)
        return webhook_endpoint_ensure(client=client, url=webhook_url())


def seed(context):
    if not settings.SANDBOX_ENABLED:
        return
    outcome = {}

    def run():
        try:
            outcome["endpoint"] = _subscribe()
        except Exception as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    worker = threading.Thread(target=run, name="demo-webhook-subscription")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    logger.info("webhook subscription %s delivers to %s",
                outcome["endpoint"].ui_subscription_id, outcome["endpoint"].url)

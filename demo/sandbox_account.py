"""The workspace's User Interviews account at the sandbox: the criteria catalog synced from
it, Rally's webhook receiver subscribed there (its secret kept), and each demo study's history
written there under the very ids Rally's rows hold (demo.sandbox_history), so paying,
retrying, pausing and polling those studies work.

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

from demo.sandbox_history import sandbox_histories
from recruitment.criteria_catalog import criteria_catalog_sync
from recruitment.user_interviews.client import UIClient, sandbox_history_put
from recruitment.webhooks import webhook_endpoint_ensure

logger = logging.getLogger(__name__)


def webhook_url():
    return settings.RALLY_BASE_URL.rstrip("/") + reverse("recruitment:webhook")


def _subscribe(histories=()):
    from rally.wsgi import application  # the WSGI app is built on first use only

    with UIClient.from_settings(transport=httpx.WSGITransport(app=application)) as client:
        criteria_catalog_sync(client=client)
        endpoint = webhook_endpoint_ensure(client=client, url=webhook_url())
        for recruit_id, history in histories:
            sandbox_history_put(client, recruit_id, **history)
        return endpoint


def seed(context):
    if not settings.SANDBOX_ENABLED:
        return
    # Read from Rally's rows here (the seed's transaction); sent from the thread below.
    histories = sandbox_histories(context.workspace)
    outcome = {}

    def run():
        try:
            outcome["endpoint"] = _subscribe(histories)
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


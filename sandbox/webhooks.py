"""Webhooks as UI sends them: thin signed envelopes, at-least-once, with retry backoff.

Events are rows written in the same transaction as the change they describe, each with one
delivery row per interested subscription; a Celery task sends what is due after commit and
the simulation tick sweeps anything left (retries fall due by the test clock).
"""

import base64
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from rally import clock
from rally.outgoing import tls_context
from sandbox.models import WebhookDelivery, WebhookEvent, WebhookSubscription, new_id

logger = logging.getLogger(__name__)

EVENT_TYPES = ("recruit.status_changed", "applicant.created", "applicant.status_changed",
               "session.scheduled", "session.status_changed", "payment.status_changed",
               "recruit.billing_finalized", "ping")
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2), timedelta(hours=6))
DISABLE_AFTER = timedelta(hours=24)
ROTATED_SECRET_LIFETIME = timedelta(hours=24)
SEND_BATCH = 200


def http_client():
    """The one HTTP client the sandbox uses to reach Rally (tests swap its transport)."""
    return httpx.Client(timeout=settings.SANDBOX_WEBHOOK_TIMEOUT_SECONDS,
                        follow_redirects=False, verify=tls_context())


def secret_generate():
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64 (the key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signature_header(secret_values, event_id, moment, body):
    """`v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one per live secret,
    space-separated: the Standard Webhooks library signs (and a receiver's verifies)."""
    return " ".join(Webhook(secret).sign(event_id, moment, body) for secret in secret_values)


def live_secrets(subscription, now=None):
    now = now or clock.now()
    out = []
    for item in subscription.secrets:
        expires = item.get("expiresAt")
        if expires is None or datetime.fromisoformat(expires.replace("Z", "+00:00")) > now:
            out.append(item["secret"])
    return out


def _schedule_send():
    # The sweep in the simulation tick is the safety net if the broker is down.
    from sandbox.tasks import webhooks_send_due

    try:
        webhooks_send_due.delay()
    except Exception:  # a lost enqueue is picked up by the next tick
        logger.warning("Could not enqueue sandbox webhook delivery; the tick will send it.")


def events_emit(events):
    """Record events [(type, resource_type, resource_id, recruit_id, changes)] for delivery.

    Must run inside the transaction that made the change.
    """
    if not events:
        return []
    now = clock.now()
    subscriptions = list(WebhookSubscription.objects.filter(active=True))
    rows, deliveries = [], []
    for event_type, resource_type, resource_id, recruit_id, changes in events:
        event_id = new_id("evt")
        envelope = {"id": event_id, "type": event_type, "createdAt": iso(now),
                    "apiVersion": "v2",
                    "data": {"resource": {"type": resource_type, "id": resource_id,
                                          "recruitId": recruit_id},
                             "changes": changes}}
        rows.append(WebhookEvent(id=event_id, type=event_type, envelope=envelope,
                                 created_at=now))
        for subscription in subscriptions:
            if not subscription.event_types or event_type in subscription.event_types:
                deliveries.append(WebhookDelivery(subscription=subscription, event_id=event_id,
                                                  next_attempt_at=now, created_at=now))
    WebhookEvent.objects.bulk_create(rows)
    WebhookDelivery.objects.bulk_create(deliveries)
    if deliveries:
        transaction.on_commit(_schedule_send)
    return rows


def event_emit(event_type, resource_type, resource_id, recruit_id, changes):
    return events_emit([(event_type, resource_type, resource_id, recruit_id, changes)])[0]


def iso(value):
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def changes(field, old, new):
    return [{"field": field, "from": old, "to": new}]


# Subscriptions -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def subscription_create(*, url, event_types):
    return WebhookSubscription.objects.create(
        url=url, event_types=event_types, created_at=clock.now(),
        secrets=[{"secret": secret_generate(), "expiresAt": None}])


@transaction.atomic(durable=True)
def subscription_rotate_secret(*, subscription_id):
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    now = clock.now()
    expires = iso(now + ROTATED_SECRET_LIFETIME)
    live = live_secrets(subscription, now)
    # The previous secrets keep signing for a day so the receiver can switch over.
    kept = [{"secret": item["secret"], "expiresAt": item["expiresAt"] or expires}
            for item in subscription.secrets if item["secret"] in live]
    subscription.secrets = [{"secret": secret_generate(), "expiresAt": None}, *kept]
    subscription.save(update_fields=["secrets"])
    return subscription


@transaction.atomic(durable=True)
def subscription_ping(*, subscription_id):
    subscription = WebhookSubscription.objects.get(pk=subscription_id)
    now = clock.now()
    event_id = new_id("evt")
    event = WebhookEvent.objects.create(
        id=event_id, type="ping", created_at=now,
        envelope={"id": event_id, "type": "ping", "createdAt": iso(now), "apiVersion": "v2",
                  "data": {"resource": {"type": "webhook_subscriptions", "id": subscription.id,
                                        "recruitId": None}, "changes": []}})
    delivery = WebhookDelivery.objects.create(subscription=subscription, event=event,
                                              next_attempt_at=now, created_at=now)
    transaction.on_commit(_schedule_send)
    return delivery


# Sending -----------------------------------------------------------------------------


def _claim_due(limit):
    """Claim due deliveries by pushing their next attempt out (a lease), compare-and-swap."""
    now = clock.now()
    lease = now + timedelta(seconds=max(60, settings.SANDBOX_WEBHOOK_TIMEOUT_SECONDS * 3))
    with transaction.atomic():
        due = list(WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                           subscription__active=True)
                   .order_by("next_attempt_at", "created_at")[:limit])
        ids = [d.id for d in due]
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=lease,
                                                          attempts=F("attempts") + 1)
    return ids


def deliveries_send_due(*, limit=SEND_BATCH):
    """Send every due delivery (in batches); returns how many attempts were made."""
    sent = 0
    with http_client() as client:
        while True:
            ids = _claim_due(limit)
            if not ids:
                return sent
            for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related(
                    "event", "subscription").order_by("event__created_at", "id"):
                delivery_attempt(delivery, client)
                sent += 1


def delivery_attempt(delivery, client):
    """POST one signed delivery (outside any transaction), then record the outcome."""
    subscription = delivery.subscription
    body = json.dumps(delivery.event.envelope, separators=(",", ":")).encode()
    # The signature's timestamp is the real clock's: receivers check it against theirs (the
    # test clock only moves the sandbox's business time; which secrets live follows it).
    moment = timezone.now().replace(microsecond=0)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "UserInterviews-Webhooks/2 (Rally sandbox)",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature_header(live_secrets(subscription, clock.now()),
                                              delivery.event_id, moment, body),
    }
    status_code, error = None, ""
    try:
        response = client.post(subscription.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    delivery_record_outcome(delivery_id=delivery.id, status_code=status_code, error=error)


@transaction.atomic(durable=True)
def delivery_record_outcome(*, delivery_id, status_code, error):
    delivery = WebhookDelivery.objects.select_for_update().select_related("subscription").get(
        pk=delivery_id)
    subscription = WebhookSubscription.objects.select_for_update().get(
        pk=delivery.subscription_id)
    now = clock.now()
    delivery.last_attempt_at = now
    delivery.response_status = status_code
    if not error:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.last_error = ""
        delivery.next_attempt_at = None
        if subscription.failing_since:
            subscription.failing_since = None
            subscription.save(update_fields=["failing_since"])
    else:
        delivery.last_error = error
        retry = delivery.attempts - 1
        if retry < len(RETRY_DELAYS):
            delivery.next_attempt_at = now + RETRY_DELAYS[retry]
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        if subscription.failing_since is None:
            subscription.failing_since = now
            subscription.save(update_fields=["failing_since"])
        elif now - subscription.failing_since >= DISABLE_AFTER:
            subscription.active = False
            subscription.disabled_at = now
            subscription.save(update_fields=["active", "disabled_at"])
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            WebhookDelivery.objects.filter(
                Q(subscription=subscription) & Q(status=WebhookDelivery.Status.PENDING)
            ).exclude(pk=delivery.pk).update(status=WebhookDelivery.Status.FAILED,
                                             next_attempt_at=None,
                                             last_error="Subscription disabled after 24 h "
                                                        "of failures.")
    delivery.save()
    return delivery

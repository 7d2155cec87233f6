"""The webhook receiver: User Interviews tells Rally that something changed.

Deliveries are signed by the Standard Webhooks specification (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64>`, several space-separated during a
secret rotation) and verified with its maintained library (`standardwebhooks`): over the raw
bytes, constant-time, the timestamp within 300 s of the real clock (a transport timestamp:
the sandbox's test clock does not move it). The event id is stored uniquely before anything
else. The answer comes at once; a worker re-fetches what the event names and upserts it.
"""

import binascii
import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from rally import clock
from recruitment.models import WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
PROCESS_TASK = "recruitment.webhook_process"
MAX_BODY_BYTES = 256 * 1024


class Refused(Exception):
    def __init__(self, status, code, detail):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def sign(secret, event_id, timestamp, body):
    """The `webhook-signature` value one secret gives a delivery (`timestamp`: unix seconds)."""
    return Webhook(secret).sign(event_id, datetime.fromtimestamp(int(timestamp), tz=UTC), body)


def webhook_secrets(workspace_id=None):
    """Every secret that may sign a delivery to this receiver: the workspace's own
    subscriptions' (current and previous during a rotation). The development receiver
    (no workspace) takes the subscriptions made without one and UI_WEBHOOK_SECRET when set."""
    secrets = []
    for endpoint in WebhookEndpoint.objects.filter(is_active=True, workspace_id=workspace_id):
        secrets.extend(endpoint.secrets)
    if workspace_id is None and settings.UI_WEBHOOK_SECRET:
        secrets.append(settings.UI_WEBHOOK_SECRET)
    return secrets


def _verifier(secret):
    try:
        return Webhook(secret)
    except (EmptyWebhookSecretError, binascii.Error, ValueError, RuntimeError):
        logger.warning("a webhook secret is not a whsec_ base64 key; it verifies nothing")
        return None


def verify(*, body, headers, secrets):
    """Raise Refused unless the delivery is fresh and signed by one of `secrets`.

    `headers` are the request's (any case). The checks before the library's only give each
    refusal its own code and status; the library decides what is valid.
    """
    headers = {name.lower(): value for name, value in headers.items()}
    event_id = headers.get("webhook-id", "")
    timestamp_header = headers.get("webhook-timestamp", "")
    signature_header = headers.get("webhook-signature", "")
    if not (event_id and timestamp_header and signature_header):
        raise Refused(400, "missing_signature", "Signature headers are missing.")
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        raise Refused(400, "bad_timestamp", "The timestamp is not a number.") from None
    if not any(part.startswith("v1,") and len(part) > 3 for part in signature_header.split(" ")):
        raise Refused(400, "bad_signature", "No v1 signature was given.")
    if abs(datetime.now(tz=UTC).timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise Refused(401, "stale_timestamp",
                      f"The timestamp is more than {TOLERANCE_SECONDS} s away from now.")
    signed = {"webhook-id": event_id, "webhook-timestamp": timestamp_header,
              "webhook-signature": signature_header}
    for verifier in filter(None, map(_verifier, secrets)):
        try:
            verifier.verify(body, signed, json_parse=False)
        except WebhookVerificationError:
            continue
        return
    raise Refused(401, "invalid_signature", "The signature does not match.")


def _no_constant(name):
    """NaN and Infinity are not JSON (Python reads them; PostgreSQL would not store them)."""
    raise ValueError(f"{name} is not JSON")


def _storable(value):
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def parse_envelope(body, header_id):
    """The event envelope, strictly: id, type, createdAt and the resource it names."""
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "malformed", "The body is not JSON.") from None
    if not _storable(document):  # PostgreSQL's jsonb refuses NUL characters
        raise Refused(400, "malformed", "The body holds a NUL character.")
    if not isinstance(document, dict):
        raise Refused(400, "malformed", "The body is not a JSON object.")
    event_id, event_type = document.get("id"), document.get("type")
    created_at, data = document.get("createdAt"), document.get("data")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 200):
        raise Refused(400, "malformed", "The event has no id.")
    if header_id and header_id != event_id:
        raise Refused(400, "malformed", "The event id does not match its header.")
    if not (isinstance(event_type, str) and 0 < len(event_type) <= 80):
        raise Refused(400, "malformed", "The event has no type.")
    try:
        moment = datetime.fromisoformat(created_at) if isinstance(created_at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Refused(400, "malformed", "The event has no createdAt time.")
    if not isinstance(data, dict):
        raise Refused(400, "malformed", "The event has no data.")
    resource = data.get("resource")
    if event_type != "ping" and not (
            isinstance(resource, dict) and isinstance(resource.get("id"), str)
            and isinstance(resource.get("type"), str)
            and isinstance(resource.get("recruitId", ""), str)):
        raise Refused(400, "malformed", "The event names no resource.")
    return document


def webhook_event_store(*, document, workspace_id=None):
    """Store a verified event once (per workspace). Returns (event, needs_processing).

    A new event, or a repeat of one that has not been processed yet (its processing
    failed or its message was lost), needs processing; a repeat of a processed one
    does not.
    """
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                workspace_id=workspace_id, event_id=document["id"], type=document["type"],
                payload=document, received_at=clock.now())
        return event, True
    except IntegrityError:
        same = WebhookEvent.objects.filter(workspace_id=workspace_id, event_id=document["id"])
        same.update(deliveries=F("deliveries") + 1)
        event = same.get()
        return event, event.processed_at is None


def webhook_event_dispatch(event_pk):
    from rally.celery import app

    try:
        app.send_task(PROCESS_TASK, args=[str(event_pk)])
    except Exception:  # the event row is kept; the next delivery or the poller covers it
        logger.warning("could not queue webhook event %s", event_pk)


def _refusal(refused):
    return JsonResponse({"errors": [{"status": str(refused.status), "code": refused.code,
                                     "detail": refused.detail}]}, status=refused.status)


@csrf_exempt
@require_POST
def receive(request, workspace_id=None):
    """POST /webhooks/user-interviews/<workspace>/ — signed by UI with that workspace's
    secret, no sign-in. (/webhooks/user-interviews/ is the development receiver.)"""
    body = request.body
    try:
        if len(body) > MAX_BODY_BYTES:
            raise Refused(400, "too_large", "The body is too large.")
        verify(body=body, headers=request.headers, secrets=webhook_secrets(workspace_id))
        document = parse_envelope(body, request.headers.get("webhook-id", ""))
    except Refused as refused:
        return _refusal(refused)
    event, needs_processing = webhook_event_store(document=document,
                                                  workspace_id=workspace_id)
    if needs_processing:
        webhook_event_dispatch(event.pk)
    return JsonResponse({"received": event.event_id,
                         "status": "accepted" if needs_processing else "duplicate"})


# The subscription at UI ---------------------------------------------------------------------

EVENT_TYPES = ("recruit.status_changed", "recruit.billing_finalized", "applicant.created",
               "applicant.status_changed", "session.scheduled", "session.status_changed",
               "payment.status_changed")


def webhook_endpoint_ensure(*, client, url, workspace=None):
    """Make sure UI delivers to `url` and Rally knows the secret; idempotent.

    Keeps the subscription while UI has it active; otherwise (gone, or disabled by UI after
    a day of failed deliveries) subscribes again. Keys are deterministic per attempt, so a
    retry never makes two subscriptions.
    """
    from recruitment.user_interviews.client import idempotency_key

    endpoint = WebhookEndpoint.objects.filter(url=url, is_active=True,
                                              workspace=workspace).first()
    if endpoint is not None:
        at_ui = {s.id: s for s in client.webhook_subscriptions_list()}
        subscription = at_ui.get(endpoint.ui_subscription_id)
        if subscription is not None and subscription.active:
            return endpoint
        if subscription is not None:  # UI disabled it after a day of failures: replace it
            client.webhook_subscription_delete(subscription.id, key=idempotency_key(
                "webhook_subscription_delete", subscription.id))
        endpoint.is_active = False
        endpoint.updated_at = clock.now()
        endpoint.save(update_fields=["is_active", "updated_at"])
    generation = WebhookEndpoint.objects.filter(url=url, workspace=workspace).count()
    subscription = client.webhook_subscription_create(
        key=idempotency_key("webhook_subscription", f"{url}#{generation}"), url=url,
        event_types=EVENT_TYPES)
    now = clock.now()
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        ui_subscription_id=subscription.id,
        defaults={"workspace": workspace, "url": url,
                  "event_types": list(subscription.event_types),
                  "secret": subscription.secret or "", "is_active": True,
                  "created_at": now, "updated_at": now})
    return endpoint

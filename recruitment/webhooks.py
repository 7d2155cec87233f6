"""The webhook receiver: User Interviews tells Rally that something changed.

The signature is checked over the raw bytes (HMAC-SHA256 of "<timestamp>.<body>", base64,
`v1=`; several during a secret rotation) with a constant-time compare, the timestamp must
be within 300 s of Rally's clock, and the event id is stored uniquely before anything
else. The answer comes at once; a worker re-fetches what the event names and upserts it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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


def sign(secret, timestamp, body):
    """`v1=<base64 HMAC-SHA256(secret, "<timestamp>.<body>")>` (what UI sends)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + base64.b64encode(digest.digest()).decode()


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


def _signatures(header):
    found = []
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        if version != "v1" or not value:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(*, body, timestamp_header, signature_header, secrets, now):
    """Raise Refused unless the delivery is signed by one of `secrets` and is fresh."""
    if not timestamp_header or not signature_header:
        raise Refused(400, "missing_signature", "Signature headers are missing.")
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        raise Refused(400, "bad_timestamp", "The timestamp is not a number.") from None
    received = _signatures(signature_header)
    if not received:
        raise Refused(400, "bad_signature", "No v1 signature was given.")
    message = f"{timestamp_header}.".encode() + body
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        for signature in received:
            # Every pair is compared, so the time taken says nothing about which matched.
            valid |= hmac.compare_digest(expected, signature)
    if not valid:
        raise Refused(401, "invalid_signature", "The signature does not match.")
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise Refused(401, "stale_timestamp",
                      f"The timestamp is more than {TOLERANCE_SECONDS} s away from now.")


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
        verify(body=body, timestamp_header=request.headers.get("X-UI-Webhook-Timestamp", ""),
               signature_header=request.headers.get("X-UI-Webhook-Signature", ""),
               secrets=webhook_secrets(workspace_id), now=clock.now())
        document = parse_envelope(body, request.headers.get("X-UI-Webhook-Id", ""))
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

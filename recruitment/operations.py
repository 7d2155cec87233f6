"""Every operation Rally asks of User Interviews through the outbox, and every webhook event
it acts on, each in one table written out here: what runs for a name never depends on which
modules happen to have been imported.

The handlers live beside what they change (recruits in recruitment.handlers, payments in
recruitment.payments, sessions in recruitment.session_handlers, test completions in
recruitment.unmoderated); the outbox executor and the webhook processing read these tables.
"""

import logging
from datetime import timedelta

from django.db.models import F, Q

from rally import clock
from recruitment import handlers, payments, session_handlers, sync, unmoderated
from recruitment.models import WebhookEvent

logger = logging.getLogger(__name__)

#: The outbox's operations by name (OutboxOperation.operation).
HANDLERS = {handler.operation: handler for handler in (
    handlers.create_recruit,
    handlers.launch_recruit,
    handlers.pause_recruit,
    handlers.resume_recruit,
    handlers.close_recruit,
    handlers.set_recruit_intake,
    handlers.update_recruit,
    handlers.approve_applicant,
    handlers.reject_applicant,
    session_handlers.create_session,
    session_handlers.complete_session,
    session_handlers.no_show_session,
    session_handlers.cancel_session,
    session_handlers.reschedule_session,
    unmoderated.complete_test_session,
    payments.create_payment,
)}

#: What a stored webhook event's type makes Rally do: fetch what it names from UI and apply
#: it. Other types (ping, sessions) need nothing yet.
EVENT_PROCESSORS = {
    "recruit.status_changed": sync.recruit_event_process,
    "recruit.billing_finalized": sync.recruit_event_process,
    "applicant.created": sync.applicant_event_process,
    "applicant.status_changed": sync.applicant_event_process,
    "payment.status_changed": payments.payment_event_process,
}

#: How long a worker holds a webhook event it is processing.
EVENT_LEASE = timedelta(minutes=5)


def label(operation):
    """How people read an operation's name ("create recruit")."""
    handler = HANDLERS.get(operation)
    return handler.label if handler else operation.replace("_", " ")


def webhook_event_process(*, event_pk, client):
    """Process one stored event: re-fetch what it names from UI and upsert it.

    Returns True when processed now. An event already processed, or being processed by
    another worker, is left alone. On an error the event stays unprocessed (the next
    delivery of the same id processes it again) and the error is kept on the row.
    """
    now = clock.now()
    claimed = WebhookEvent.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        pk=event_pk, processed_at__isnull=True,
    ).update(claimed_until=now + EVENT_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return False
    event = WebhookEvent.objects.get(pk=event_pk)
    processor = EVENT_PROCESSORS.get(event.type)
    try:
        if processor is not None:
            processor(event, client)
    except Exception as error:
        WebhookEvent.objects.filter(pk=event_pk).update(
            claimed_until=None, last_error=f"{type(error).__name__}: {error}"[:2000])
        logger.warning("webhook event %s failed: %s", event.event_id, error)
        raise
    WebhookEvent.objects.filter(pk=event_pk).update(processed_at=clock.now(),
                                                     claimed_until=None, last_error="")
    return True

"""Celery tasks of the UI integration: thin wrappers that take ids and call one function.
Every call to UI uses the workspace's own account (recruitment.connections)."""

from celery import shared_task

from recruitment import operations, outbox, sync
from recruitment.connections import WorkspaceClients, catalog_client, ui_client_for


@shared_task(name="recruitment.outbox_execute", ignore_result=True)
def outbox_execute(operation_id):
    """Run one outbox row (dispatched after the commit that wrote it, or by the sweeper)."""
    return outbox.outbox_execute(operation_id=operation_id,
                                 priority=outbox.outbox_priority(operation_id))


@shared_task(name="recruitment.outbox_execute_batch", ignore_result=True)
def outbox_execute_batch(operation_ids):
    """Run a batch of outbox rows in turn (the payouts sweeper's batch, one message)."""
    return outbox.outbox_execute_batch(operation_ids=operation_ids)


@shared_task(name="recruitment.outbox_sweep", ignore_result=True)
def outbox_sweep():
    """Beat: re-dispatch due pending rows (lost messages, finished backoffs)."""
    return len(outbox.outbox_sweep())


@shared_task(name="recruitment.webhook_process", ignore_result=True)
def webhook_process(event_pk):
    """Process one stored webhook event. An error leaves it for its next delivery."""
    from recruitment.models import WebhookEvent

    workspace_id = (WebhookEvent.objects.filter(pk=event_pk)
                    .values_list("workspace_id", flat=True).first())
    try:
        with ui_client_for(workspace_id) as client:
            return operations.webhook_event_process(event_pk=event_pk, client=client)
    except Exception:
        return False  # kept on the row as last_error; the next delivery retries


@shared_task(name="recruitment.webhook_sweep", ignore_result=True)
def webhook_sweep():
    """Beat: queue stored events still unprocessed (a failed try or a lost message), and
    forget processed ones past their retention."""
    from recruitment.webhooks import webhook_event_dispatch

    due = sync.webhook_events_due()
    for event_pk in due:
        webhook_event_dispatch(event_pk)
    sync.webhook_events_prune()
    return len(due)


@shared_task(name="recruitment.poll", ignore_result=True)
def poll():
    """Beat: the safety net under webhooks — sync every live recruitment from UI."""
    with WorkspaceClients.background() as clients:
        return sync.recruitments_poll_all(clients=clients)


@shared_task(name="recruitment.criteria_sync", ignore_result=True)
def criteria_sync():
    """Beat, daily: refresh the audience criteria catalog from UI's characteristics."""
    from recruitment.criteria_catalog import criteria_catalog_sync

    with catalog_client() as client:
        return criteria_catalog_sync(client=client)


@shared_task(name="recruitment.sync_problems_check", ignore_result=True)
def sync_problems_check():
    """Beat: tell teams about sync problems with UI lasting more than 15 minutes."""
    from recruitment.sync_health import sync_problems_notify

    return sync_problems_notify()

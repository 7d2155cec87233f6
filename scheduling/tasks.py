"""Scheduling's background work: calendar messages to hosts and guests."""

from celery import shared_task

from rally import clock
from scheduling import ics


@shared_task(name="scheduling.session_invite_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def session_invite_send(session_id):
    ics.session_invite_send(session_id=session_id)


@shared_task(name="scheduling.group_invite_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def group_invite_send(group_slot_id):
    ics.group_invite_send(group_slot_id=group_slot_id)


@shared_task(name="scheduling.session_invites_sweep", ignore_result=True)
def session_invites_sweep():
    """Send calendar messages whose prompt send was lost (worker down, broker down)."""
    now = clock.now()
    for session_id in ics.session_invites_due(now=now):
        try:
            ics.session_invite_send(session_id=session_id)
        except OSError:
            ics.logger.warning("calendar invite for session %s failed; retried next sweep",
                               session_id)
    for group_slot_id in ics.group_invites_due(now=now):
        try:
            ics.group_invite_send(group_slot_id=group_slot_id)
        except OSError:
            ics.logger.warning("calendar invite for group %s failed; retried next sweep",
                               group_slot_id)

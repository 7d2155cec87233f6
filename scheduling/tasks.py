"""Scheduling's background work: calendar messages to hosts and guests; ended sessions
nobody marked complete at their end time."""

from celery import shared_task

from rally import clock
from scheduling import ics, services


@shared_task(name="scheduling.session_invite_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def session_invite_send(session_id):
    ics.session_invite_send(session_id=session_id)


@shared_task(name="scheduling.session_invites_sweep", ignore_result=True)
def session_invites_sweep():
    """Send calendar messages whose prompt send was lost (worker down, broker down)."""
    for session_id in ics.session_invites_due(now=clock.now()):
        try:
            ics.session_invite_send(session_id=session_id)
        except OSError:
            ics.logger.warning("calendar invite for session %s failed; retried next sweep",
                               session_id)


@shared_task(name="scheduling.sessions_sweep", ignore_result=True)
def sessions_sweep():
    """Beat: ended sessions nobody marked count as completed (SPEC C5, I2)."""
    return services.sessions_sweep()

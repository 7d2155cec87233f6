"""The panel's background work: invitation emails, and the sweeper for lost sends."""

from celery import shared_task

from panel import reminders, services
from rally import clock


@shared_task(name="panel.invitation_email_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def invitation_email_send(invitation_id):
    services.invitation_email_send(invitation_id=invitation_id)


@shared_task(name="panel.invitation_emails_sweep", ignore_result=True)
def invitation_emails_sweep():
    """Send invitation emails whose prompt send was lost (worker or broker down)."""
    _sweep(services.invitation_emails_due, services.invitation_email_send, "invitation")


@shared_task(name="panel.booking_email_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def booking_email_send(invitation_id):
    services.booking_email_send(invitation_id=invitation_id)


@shared_task(name="panel.booking_emails_sweep", ignore_result=True)
def booking_emails_sweep():
    """Email the booking link to panel applicants invited to book (reviewers' invitations on
    the Participants tab arrive here) and re-send lost ones."""
    _sweep(services.booking_emails_due, services.booking_email_send, "booking")


@shared_task(name="panel.session_reminders_send", ignore_result=True)
def session_reminders_send():
    """Email the session reminders now due (SPEC P8), each exactly once."""
    sent = reminders.reminders_send_due()
    if sent:
        services.logger.info("sent %s session reminder%s", sent, "s" if sent != 1 else "")


def _sweep(due, send, kind):
    """Send each due email in turn; one that fails is left for the next sweep."""
    for invitation_id in due(now=clock.now()):
        try:
            send(invitation_id=invitation_id)
        except OSError:
            services.logger.warning("%s email %s failed; retried next sweep", kind,
                                    invitation_id)

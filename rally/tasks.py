"""The core's background work: notification emails."""

from celery import shared_task

from rally import notifications


@shared_task(name="rally.notification_emails_send", ignore_result=True)
def notification_emails_send():
    """Send the notification emails that are due (after a commit, and every minute by the
    beat for digests, retries and lost messages). Each row retries on its own schedule."""
    notifications.notification_emails_send_due()

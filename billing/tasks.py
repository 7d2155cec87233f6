"""Billing's background work: the payout sweeper (beat, every 30 s) and receipt emails
(sent after the close commits, retried; a sweeper every minute for lost ones)."""

from celery import shared_task

from billing import payouts, receipts


@shared_task(name="billing.payouts_sweep", ignore_result=True)
def payouts_sweep():
    """Send every incentive that has come due; several workers take disjoint batches."""
    return payouts.payouts_sweep()


@shared_task(name="billing.receipt_email_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def receipt_email_send(receipt_email_id):
    receipts.receipt_email_send(receipt_email_id=receipt_email_id)


@shared_task(name="billing.receipt_emails_sweep", ignore_result=True)
def receipt_emails_sweep():
    """Send receipt emails a lost dispatch or a mail outage left unsent."""
    return receipts.receipt_emails_sweep()

"""Billing's background work: the payout sweeper (beat, every 30 s)."""

from celery import shared_task

from billing import payouts


@shared_task(name="billing.payouts_sweep", ignore_result=True)
def payouts_sweep():
    """Send every incentive that has come due; several workers take disjoint batches."""
    return payouts.payouts_sweep()

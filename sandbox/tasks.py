"""Celery tasks: the simulation tick (beat) and webhook sending (after each commit)."""

from celery import shared_task


@shared_task(name="sandbox.simulation_tick", ignore_result=True)
def simulation_tick():
    from sandbox import simulation

    return simulation.tick()


@shared_task(name="sandbox.webhooks_send_due", ignore_result=True)
def webhooks_send_due():
    from sandbox import webhooks

    return webhooks.deliveries_send_due()

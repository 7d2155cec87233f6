"""Payouts racing on real Postgres (threads, each with its own connection): sweepers
claim disjoint rows, and no race charges or sends a session twice (QUALITY 6, 8)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from billing import payouts
from billing.models import Payout
from rally import clock
from rally.models import OutboxOperation
from scheduling.services import session_complete_and_pay, session_mark
from tests.billing.payouts_support import charges, due_payouts, ended_session, funded_ui_study

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def race(*jobs):
    """Run the jobs at once; returns what each returned (or the exception it raised)."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_sweepers_over_1000_due_payouts_send_each_exactly_once(admin):
    studies = [funded_ui_study(admin, limit=500) for _ in range(2)]
    for study in studies:
        due_payouts(study, 500)
    claimed = [[], []]

    def sweeper(n):
        def sweep():
            while True:
                batch = payouts.payouts_send_due(limit=50)
                if not batch:
                    return len(claimed[n])
                claimed[n].extend(batch)
        return sweep

    results = race(sweeper(0), sweeper(1))
    assert all(isinstance(r, int) for r in results), results
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 1000
    assert claimed[0] and claimed[1]  # both did work
    assert Payout.objects.filter(state="sending").count() == 1000
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1000
    for study in studies:
        assert charges(study) == (500, 500, 0)


def test_the_same_session_completed_ten_times_at_once_is_charged_and_paid_once(admin):
    study = funded_ui_study(admin, limit=3)
    session = ended_session(study)
    results = race(*[lambda: session_complete_and_pay(membership=admin, session_id=session.pk)
                     for _ in range(5)],
                   *[lambda: session_mark(membership=admin, session_id=session.pk,
                                          status="completed") for _ in range(5)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Payout.objects.filter(session_id=session.pk).count() == 1
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert charges(study) == (1, 1, 0)
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1


def test_the_manual_button_racing_the_sweeper_at_24_hours_sends_one_payment(admin, settings):
    settings.SANDBOX_ENABLED = True
    try:
        study = funded_ui_study(admin, limit=3)
        session = ended_session(study, ended=timedelta(minutes=1))
        session_mark(membership=admin, session_id=session.pk, status="completed")
        clock.advance(hours=24)
        results = race(lambda: payouts.payouts_send_due(),
                       lambda: session_complete_and_pay(membership=admin,
                                                        session_id=session.pk))
        assert not [r for r in results if isinstance(r, Exception)], results
        payout = Payout.objects.get(session_id=session.pk)
        assert payout.state == "sending"
        assert charges(study) == (1, 1, 0)
        assert OutboxOperation.objects.filter(operation="create_payment").count() == 1
    finally:
        clock.reset()

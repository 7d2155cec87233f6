"""Ended, unmarked sessions raced on real Postgres (threads, each its own connection): two
session sweepers, and a host's "Complete & Send payment" against the sweepers, complete
and pay each session exactly once (QUALITY 6, 8)."""

from datetime import timedelta

import pytest

from billing import payouts
from billing.models import Payout
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from scheduling import services
from scheduling.models import Session
from tests.billing.payouts_support import charges, ended_session, funded_ui_study
from tests.billing.test_payouts_concurrency import race
from tests.participants.factories import ApplicationFactory
from tests.rally.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings):
    from rally.celery import app

    settings.SANDBOX_ENABLED = True
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    yield
    clock.reset()


def test_two_session_sweepers_complete_each_ended_session_once(admin):
    study = funded_ui_study(admin, limit=120)
    hosts = [MembershipFactory(workspace=admin.workspace, role="researcher").user
             for _ in range(4)]
    for n in range(120):  # four hosts, back to back: no host has two sessions at once
        ended_session(study, ended=timedelta(hours=2 * (n // 4) + 1),
                      application=ApplicationFactory(study=study, status="scheduled"),
                      host=hosts[n % 4])
    done = [[], []]

    def sweeper(n):
        def sweep():
            while batch := services.sessions_complete_ended(limit=10):
                done[n].extend(batch)
            return len(done[n])
        return sweep

    results = race(sweeper(0), sweeper(1))
    assert all(isinstance(r, int) for r in results), results
    assert not set(done[0]) & set(done[1])
    assert len(done[0]) + len(done[1]) == 120
    assert Session.objects.filter(status="completed", completed_automatically=True).count() == 120
    assert Payout.objects.filter(state="not_sent").count() == 120
    assert OutboxOperation.objects.filter(operation="complete_session").count() == 120
    assert ActivityEntry.objects.filter(action="session.completed_automatically").count() == 120


def test_complete_and_send_payment_racing_the_session_sweeper_pays_once(admin):
    study = funded_ui_study(admin, limit=3)
    session = ended_session(study, ended=timedelta(minutes=1))
    results = race(lambda: services.sessions_sweep(),
                   lambda: services.session_complete_and_pay(membership=admin,
                                                             session_id=session.pk))
    assert not [r for r in results if isinstance(r, Exception)], results
    session.refresh_from_db()
    assert session.status == "completed"
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert charges(study) == (1, 1, 0)
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1
    assert OutboxOperation.objects.filter(operation="complete_session").count() == 1


def test_complete_and_send_payment_racing_the_payout_sweeper_at_24_hours_pays_once(admin):
    study = funded_ui_study(admin, limit=3)
    session = ended_session(study, ended=timedelta(minutes=1))
    services.sessions_sweep()  # nobody marked it: completed at its end
    clock.advance(hours=24)
    results = race(lambda: payouts.payouts_send_due(),
                   lambda: services.session_complete_and_pay(membership=admin,
                                                             session_id=session.pk))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert charges(study) == (1, 1, 0)
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1


def test_no_show_racing_the_payout_sweeper_either_holds_or_is_refused(admin):
    study = funded_ui_study(admin, limit=3)
    session = ended_session(study, ended=timedelta(minutes=1))
    services.sessions_sweep()
    clock.advance(hours=24)
    results = race(lambda: payouts.payouts_send_due(),
                   lambda: services.session_mark(membership=admin, session_id=session.pk,
                                                 status="no_show"))
    session.refresh_from_db()
    payout = Payout.objects.get(session_id=session.pk)
    if isinstance(results[1], Exception):  # the sweeper won: sent, the No-show refused
        assert isinstance(results[1], services.BookingRefused), results
        assert (session.status, payout.state) == ("completed", "sending")
        assert charges(study) == (1, 1, 0)
    else:  # the No-show won: held, nothing charged
        assert (session.status, payout.state) == ("no_show", "canceled")
        assert charges(study) == (0, 0, 0)

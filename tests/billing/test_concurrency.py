"""Real Postgres, real threads: the locks hold when people and workers race."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections

from billing import services
from billing.models import Reservation, Transfer
from billing.reconciliation import ledger_problems
from tests.billing.factories import BudgetFactory, funds_add

pytestmark = pytest.mark.django_db(transaction=True)


def race(count, work):
    """Run `work(i)` in `count` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:
            results[i] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_studies_starting_on_a_budget_that_covers_one_start_exactly_one(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "500.00")  # one study needs 3 x 165 = 495

    def start(i):
        return services.budget_reserve_for_study(
            budget=budget, study_id=uuid.uuid4(), study_name=f"Study {i}",
            participation_limit=3, fee=Decimal("65.00"), incentive=Decimal("100.00"),
            actor=admin.user)

    results = race(2, start)
    started = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, services.FundsShortError)]
    assert len(started) == 1 and len(refused) == 1, results
    assert refused[0].shortfall == Decimal("490.00")
    assert Reservation.objects.count() == 1
    assert ledger_problems() == []


def test_the_same_session_charged_ten_times_at_once_is_charged_once(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "1000.00")
    study_id, session_id = uuid.uuid4(), uuid.uuid4()
    services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Race", participation_limit=4,
        fee=Decimal("65.00"), incentive=Decimal("100.00"), actor=admin.user)

    results = race(10, lambda i: services.reservation_charge_participant(
        study_id=study_id, session_id=session_id, actor=f"task:worker-{i}"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Transfer.objects.filter(kind="fee").count() == 1
    assert Transfer.objects.filter(kind="incentive").count() == 1
    assert ledger_problems() == []


def test_more_sessions_than_the_limit_at_once_charge_only_the_limit(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "1000.00")
    study_id = uuid.uuid4()
    services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Race", participation_limit=3,
        fee=Decimal("26.00"), incentive=Decimal("50.00"), actor=admin.user)
    results = race(8, lambda i: services.reservation_charge_participant(
        study_id=study_id, session_id=uuid.uuid4(), actor="task:worker"))
    assert sum(isinstance(r, tuple) for r in results) == 3
    assert all(isinstance(r, (tuple, ValidationError)) for r in results), results
    assert Transfer.objects.filter(kind="fee").count() == 3
    assert ledger_problems() == []


def test_close_racing_charges_never_leaves_money_behind(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "1000.00")
    study_id = uuid.uuid4()
    services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Race", participation_limit=5,
        fee=Decimal("39.00"), incentive=Decimal("25.00"), actor=admin.user)

    def work(i):
        if i == 0:
            return services.reservation_close(study_id=study_id, actor=admin.user)
        return services.reservation_charge_participant(study_id=study_id,
                                                       session_id=uuid.uuid4(),
                                                       actor="task:worker")

    race(5, work)
    assert ledger_problems() == []
    receipt = services.reservation_close(study_id=study_id, actor=admin.user)
    assert receipt.participants == Transfer.objects.filter(kind="fee").count()


def test_add_funds_double_submitted_at_once_adds_once(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    key = uuid.uuid4()
    results = race(5, lambda i: services.budget_add_funds(
        membership=admin, budget=budget, amount="75.00", reference="PO-5", key=key))
    assert all(isinstance(r, Transfer) for r in results), results
    assert Transfer.objects.filter(kind="funds").count() == 1


def test_the_same_study_started_five_times_at_once_reserves_once(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "2000.00")
    study_id = uuid.uuid4()
    results = race(5, lambda i: services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Double click", participation_limit=2,
        fee=Decimal("65.00"), incentive=Decimal("50.00"), actor=admin.user))
    assert all(isinstance(r, Reservation) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Transfer.objects.filter(kind="reserve").count() == 1
    assert ledger_problems() == []


def test_a_released_study_started_again_five_times_at_once_reserves_once(workspace, admin):
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "2000.00")
    study_id = uuid.uuid4()

    def start(attempt):
        return services.budget_reserve_for_study(
            budget=budget, study_id=study_id, study_name="Declined", participation_limit=2,
            fee=Decimal("65.00"), incentive=Decimal("50.00"), actor=admin.user,
            attempt=attempt)

    start(1)
    services.reservation_release_unused(study_id=study_id, actor="task:poller")
    results = race(5, lambda i: start(2))
    assert all(isinstance(r, Reservation) for r in results), results
    assert {r.attempt for r in results} == {2} and len({r.pk for r in results}) == 1
    assert Transfer.objects.filter(kind="reserve").count() == 2
    assert ledger_problems() == []


def test_a_restart_racing_the_release_of_the_last_start_never_holds_twice(workspace, admin):
    """The next start and the release of the last one, at once: either the start waits for
    the release (and reserves), or it comes first and is refused; never two open."""
    budget = BudgetFactory(workspace=workspace)
    funds_add(admin, budget, "2000.00")
    study_id = uuid.uuid4()
    services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Declined", participation_limit=2,
        fee=Decimal("65.00"), incentive=Decimal("50.00"), actor=admin.user)

    def work(i):
        if i == 0:
            return services.reservation_release_unused(study_id=study_id, actor="task:poller")
        return services.budget_reserve_for_study(
            budget=budget, study_id=study_id, study_name="Declined", participation_limit=2,
            fee=Decimal("65.00"), incentive=Decimal("50.00"), actor=admin.user, attempt=2)

    results = race(2, work)
    assert isinstance(results[1], (Reservation, ValidationError)), results
    if isinstance(results[1], ValidationError):
        assert results[1].code == "still_reserved"
    assert Reservation.objects.filter(study_id=study_id, released_at=None).count() <= 1
    assert ledger_problems() == []

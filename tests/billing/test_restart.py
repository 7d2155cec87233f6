"""A study started again after a declined or failed start: one reservation per start, keys
per start, at most one open, and figures, receipts and the check per start (SPEC R2, B3–B7;
QUALITY money invariants)."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing import services
from billing.models import Receipt, Reservation, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for, reservations_with_figures, study_billing_for
from billing.services import study_figures
from rally import clock

pytestmark = pytest.mark.django_db

D = Decimal


def available(budget):
    return budget_figures_for([budget])[budget.pk].available


def reserve_again(budget, study_id, attempt, *, limit=4, fee="65.00", incentive="100.00",
                  actor="task:test"):
    return services.budget_reserve_for_study(
        budget=budget, study_id=study_id, study_name="Churn", participation_limit=limit,
        fee=D(fee), incentive=D(incentive), actor=actor, attempt=attempt)


@pytest.fixture
def declined(funded_budget, reserve):
    """A study whose first start (4 × $165) was reserved, then released (UI declined)."""
    first, study_id = reserve(funded_budget, limit=4)
    services.reservation_release_unused(study_id=study_id, actor="task:outbox:launch_recruit")
    return first, study_id


def test_a_released_start_reserves_again_as_the_next_attempt(funded_budget, declined):
    first, study_id = declined
    assert available(funded_budget) == D("1000.00")
    second = reserve_again(funded_budget, study_id, 2, limit=3)
    assert (first.attempt, second.attempt) == (1, 2)
    assert second.is_open and not Reservation.objects.get(pk=first.pk).is_open
    assert available(funded_budget) == D("1000.00") - D("495.00")
    keys = set(Transfer.objects.filter(study_id=study_id).values_list("key", flat=True))
    assert keys == {f"reserve:{study_id}", f"release:{study_id}", f"reserve:{study_id}:2"}
    assert Transfer.objects.get(key=f"reserve:{study_id}:2").reservation_id == second.pk
    assert ledger_problems() == []


def test_each_start_has_its_own_figures(funded_budget, declined):
    first, study_id = declined
    second = reserve_again(funded_budget, study_id, 2, limit=3)
    latest = study_figures(study_id)
    assert (latest["reserved"], latest["unused"], latest["hold"]) == (
        D("495.00"), D("0.00"), D("495.00"))
    earlier = study_figures(study_id, first.pk)
    assert (earlier["reserved"], earlier["unused"], earlier["hold"]) == (
        D("660.00"), D("660.00"), D("0.00"))
    billing = study_billing_for(study_id)
    assert billing["reservation"] == second and billing["figures"] == latest


def test_reserving_and_releasing_the_same_start_again_writes_once(funded_budget, declined):
    _, study_id = declined
    for _ in range(2):
        reserve_again(funded_budget, study_id, 2)
    assert Reservation.objects.filter(study_id=study_id).count() == 2
    for _ in range(2):
        services.reservation_release_unused(study_id=study_id, actor="task:test")
    assert Transfer.objects.filter(study_id=study_id, kind="reserve").count() == 2
    assert Transfer.objects.filter(study_id=study_id, kind="release").count() == 2
    assert Transfer.objects.filter(key=f"release:{study_id}:2").exists()
    assert available(funded_budget) == D("1000.00")
    assert ledger_problems() == []


def test_the_next_start_waits_for_the_last_one_to_be_released(funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=2)
    before = Transfer.objects.count()
    with pytest.raises(ValidationError) as refusal:
        reserve_again(funded_budget, study_id, 2, limit=2)
    assert refusal.value.code == "still_reserved"
    assert "still reserved" in refusal.value.messages[0]
    assert Transfer.objects.count() == before
    assert Reservation.objects.filter(study_id=study_id).count() == 1


def test_an_earlier_start_can_not_reserve_after_a_later_one(funded_budget, declined):
    _, study_id = declined
    reserve_again(funded_budget, study_id, 3)
    with pytest.raises(ValidationError) as refusal:
        reserve_again(funded_budget, study_id, 2)
    assert refusal.value.code == "superseded"
    assert Reservation.objects.filter(study_id=study_id).count() == 2


def test_a_start_that_paid_for_participants_is_not_started_again(funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=2)
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor="task:test")
    services.reservation_release_unused(study_id=study_id, actor="task:test")
    with pytest.raises(ValidationError) as refusal:
        reserve_again(funded_budget, study_id, 2, limit=2)
    assert refusal.value.code == "charged"
    assert ledger_problems() == []


def test_a_closed_study_is_not_reserved_again(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=2)
    services.reservation_close(study_id=study_id, actor=admin.user)
    with pytest.raises(ValidationError) as refusal:
        reserve_again(funded_budget, study_id, 2, limit=2)
    assert refusal.value.code == "closed"


def test_a_restart_may_use_another_budget(funded_budget, declined, workspace, admin):
    from tests.billing.factories import BudgetFactory, funds_add

    _, study_id = declined
    other = BudgetFactory(workspace=workspace, name="Research Ops")
    funds_add(admin, other, "500.00")
    reserve_again(other, study_id, 2, limit=3)
    assert available(other) == D("5.00") and available(funded_budget) == D("1000.00")
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor="task:test")
    receipt = services.reservation_close(study_id=study_id, actor=admin.user)
    assert receipt.budget == other
    assert (receipt.reserved, receipt.total_spent, receipt.unused) == (
        D("495.00"), D("165.00"), D("330.00"))
    assert ledger_problems() == []


def test_the_database_holds_one_open_reservation_per_study(funded_budget, reserve):
    first, study_id = reserve(funded_budget, limit=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            workspace=first.workspace, budget=funded_budget, study_id=study_id, attempt=2,
            study_name="Churn", participation_limit=1, initial_limit=1, fee=D("65.00"),
            incentive=D("100.00"), created_by_label="test", created_at=clock.now())
    services.reservation_release_unused(study_id=study_id, actor="task:test")
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            workspace=first.workspace, budget=funded_budget, study_id=study_id, attempt=1,
            study_name="Churn", participation_limit=1, initial_limit=1, fee=D("65.00"),
            incentive=D("100.00"), created_by_label="test", created_at=clock.now())


def test_close_after_a_restart_freezes_the_figures_of_the_start_that_ran(
        funded_budget, declined, admin, capsys):
    _, study_id = declined
    reserve_again(funded_budget, study_id, 2, limit=5, fee="39.00", incentive="60.00")
    services.reservation_shrink(study_id=study_id, participation_limit=3, actor=admin.user)
    assert Transfer.objects.filter(key=f"shrink:{study_id}:2:3").exists()
    for _ in range(2):
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor="task:test")
    for _ in range(2):
        receipt = services.reservation_close(study_id=study_id, actor=admin.user)
    assert Receipt.objects.filter(study_id=study_id).count() == 1
    # 3 × $99 reserved, 2 × ($39 + $60) spent, one seat unused.
    assert (receipt.reserved, receipt.recruitment_fees, receipt.incentives,
            receipt.total_spent, receipt.unused, receipt.participants) == (
        D("297.00"), D("78.00"), D("120.00"), D("198.00"), D("99.00"), 2)
    assert receipt.reserved == receipt.total_spent + receipt.unused
    assert (receipt.fee, receipt.incentive) == (D("39.00"), D("60.00"))
    assert available(funded_budget) == D("1000.00") - D("198.00")
    assert ledger_problems() == []
    call_command("billing_check")
    assert "Ledger OK" in capsys.readouterr().out


def test_the_check_notices_a_start_movement_that_names_no_reservation(funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=1)
    hold = Transfer.objects.get(key=f"reserve:{study_id}").credit_account
    Transfer.objects.create(
        key=f"release:{study_id}:stray", kind="release", workspace=funded_budget.workspace,
        budget=funded_budget, study_id=study_id, debit_account=hold,
        credit_account=services._available_account(funded_budget), amount=D("1.00"),
        actor_label="test", created_at=clock.now())
    assert any("names no reservation" in problem for problem in ledger_problems())


def test_reservations_tab_shows_every_start_with_its_own_figures(
        client_for, admin, funded_budget, declined, django_assert_max_num_queries):
    _, study_id = declined
    reserve_again(funded_budget, study_id, 2, limit=3)
    rows = reservations_with_figures(admin.workspace)
    assert [(r.attempt, r.is_latest, r.figures["reserved"], r.figures["unused"])
            for r in rows] == [(2, True, D("495.00"), D("0.00")),
                               (1, False, D("660.00"), D("660.00"))]
    client = client_for(admin)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("billing:reservations")).content.decode()
    assert "start 2" in page and "start 1" in page
    assert "Released" in page and "Open" in page
    history = client.get(reverse("billing:budget_detail", args=[funded_budget.pk]))
    assert "(start 2)" in history.content.decode()

"""The money primitives: reserve, shrink, charge, pay, release, receipts — each twice."""

import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from billing import services
from billing.models import Receipt, Reservation, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for, study_figures
from rally.models import ActivityEntry
from tests.billing.factories import BudgetFactory, funds_add, receipt_emails_deliver

pytestmark = pytest.mark.django_db

D = Decimal


def figures(budget):
    return budget_figures_for([budget])[budget.pk]


def test_add_funds_makes_them_available_and_records_who(funded_budget, admin):
    assert figures(funded_budget).available == D("1000.00")
    transfer = Transfer.objects.get(kind="funds")
    assert transfer.actor == admin.user and transfer.description == "PO-1000"
    entry = ActivityEntry.objects.get(action="billing.funds")
    assert entry.actor == admin.user and "$1,000.00" in entry.summary
    assert ledger_problems() == []


def test_add_funds_twice_with_the_same_key_adds_once(budget, admin):
    key = uuid.uuid4()
    for _ in range(2):
        services.budget_add_funds(membership=admin, budget=budget, amount="250.00",
                                  reference="INV-7", key=key)
    assert figures(budget).available == D("250.00")
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize("amount", ["-5", "0", "0.00", "1.001", "abc", "", "NaN", "Infinity",
                                    "1000000.01", "1e9", 12.5])
def test_add_funds_refuses_bad_amounts_and_moves_nothing(budget, admin, amount):
    with pytest.raises(ValidationError) as error:
        services.budget_add_funds(membership=admin, budget=budget, amount=amount,
                                  reference="PO", key=uuid.uuid4())
    assert "amount" in error.value.message_dict
    assert Transfer.objects.count() == 0


def test_add_funds_requires_a_reference(budget, admin):
    with pytest.raises(ValidationError) as error:
        services.budget_add_funds(membership=admin, budget=budget, amount="5",
                                  reference="   ", key=uuid.uuid4())
    assert "reference" in error.value.message_dict


@pytest.mark.parametrize("persona", ["researcher", "observer"])
def test_add_funds_refused_to_researchers_and_observers(budget, personas, persona):
    with pytest.raises(PermissionDenied):
        funds_add(personas[persona], budget, "5")
    assert Transfer.objects.count() == 0


def test_add_funds_refuses_another_workspaces_budget(budget, outsider):
    with pytest.raises(PermissionDenied):
        funds_add(outsider, budget, "5")


def test_reserve_holds_limit_times_fee_plus_incentive(funded_budget, reserve):
    reservation, study_id = reserve(funded_budget, limit=4)
    assert figures(funded_budget).available == D("340.00")
    assert figures(funded_budget).reserved == D("660.00")
    assert reservation.fee == D("65.00") and reservation.incentive == D("100.00")
    assert ActivityEntry.objects.filter(action="billing.reserve", study_id=study_id).exists()
    assert ledger_problems() == []


def test_reserve_twice_reserves_once(funded_budget, reserve):
    study_id = uuid.uuid4()
    first, _ = reserve(funded_budget, study_id=study_id)
    again, _ = reserve(funded_budget, study_id=study_id)
    assert first.pk == again.pk
    assert Transfer.objects.filter(kind="reserve").count() == 1
    assert figures(funded_budget).reserved == D("660.00")


def test_reserve_refuses_short_budget_with_the_shortfall(funded_budget, reserve):
    with pytest.raises(services.FundsShortError) as error:
        reserve(funded_budget, limit=10)  # 10 x 165 = 1,650 > 1,000
    assert error.value.shortfall == D("650.00")
    assert "short by $650.00" in error.value.messages[0]
    assert Reservation.objects.count() == 0
    assert figures(funded_budget).available == D("1000.00")


def test_reserve_exactly_the_available_leaves_zero(funded_budget, reserve):
    reserve(funded_budget, limit=5, fee="100.00", incentive="100.00")
    assert figures(funded_budget).available == D("0.00")


@pytest.mark.parametrize("limit,fee,incentive", [
    (0, "65", "100"), (-1, "65", "100"), ("3", "65", "100"), (2, "0", "100"),
    (2, "65", "-1"), (2, "65", "10.005"), (10**7, "65", "100")])
def test_reserve_refuses_bad_input(funded_budget, reserve, limit, fee, incentive):
    with pytest.raises(ValidationError):
        reserve(funded_budget, limit=limit, fee=fee, incentive=incentive)
    assert Reservation.objects.count() == 0


def test_charge_moves_one_fee_and_one_incentive_once_per_session(funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=4)
    session = uuid.uuid4()
    for _ in range(3):
        services.reservation_charge_participant(study_id=study_id, session_id=session,
                                                actor="task:payout_sweeper")
    assert figures(funded_budget).spent == D("165.00")
    assert figures(funded_budget).reserved == D("495.00")
    entry = ActivityEntry.objects.filter(action="billing.fee").get()
    assert entry.actor_label == "task:payout_sweeper" and entry.actor is None
    assert ledger_problems() == []


def test_charge_never_exceeds_the_participation_limit(funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=2)
    for _ in range(2):
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor="task:test")
    with pytest.raises(ValidationError) as error:
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor="task:test")
    assert error.value.code == "limit_reached"
    assert study_figures(study_id)["participants"] == 2


def test_shrink_returns_the_seats_given_up(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=4)
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    for _ in range(2):
        services.reservation_shrink(study_id=study_id, participation_limit=2, actor=admin.user)
    assert figures(funded_budget).available == D("340.00") + D("330.00")
    assert Reservation.objects.get().participation_limit == 2
    with pytest.raises(ValidationError):
        services.reservation_shrink(study_id=study_id, participation_limit=0, actor=admin.user)
    with pytest.raises(ValidationError):
        services.reservation_shrink(study_id=study_id, participation_limit=3, actor=admin.user)
    assert ledger_problems() == []


def test_shrink_not_below_participants_charged(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=4)
    for _ in range(3):
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor=admin.user)
    with pytest.raises(ValidationError):
        services.reservation_shrink(study_id=study_id, participation_limit=2, actor=admin.user)


def test_incentive_paid_moves_owed_to_paid_once(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=4)
    session, payout = uuid.uuid4(), uuid.uuid4()
    services.reservation_charge_participant(study_id=study_id, session_id=session,
                                            actor=admin.user)
    for _ in range(2):
        services.incentive_mark_paid(study_id=study_id, session_id=session, payout_id=payout,
                                     actor="webhook:evt_1")
    with pytest.raises(ValidationError):  # a second payout for the same session
        services.incentive_mark_paid(study_id=study_id, session_id=session,
                                     payout_id=uuid.uuid4(), actor="webhook:evt_2")
    assert figures(funded_budget).spent == D("165.00")
    assert study_figures(study_id)["incentives_paid"] == D("100.00")
    assert ledger_problems() == []


def test_close_releases_unused_and_freezes_a_receipt(funded_budget, reserve, admin,
                                                     django_capture_on_commit_callbacks):
    _, study_id = reserve(funded_budget, limit=4, name="Onboarding interviews")
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.reservation_close(study_id=study_id, actor=admin.user)
    assert (receipt.reserved, receipt.recruitment_fees, receipt.incentives,
            receipt.total_spent, receipt.unused) == (
        D("660.00"), D("65.00"), D("100.00"), D("165.00"), D("495.00"))
    assert receipt.participants == 1 and receipt.budget_name == "Workspace Budget"
    assert figures(funded_budget).available == D("835.00")
    assert figures(funded_budget).reserved == D("0.00")
    assert ledger_problems() == []
    assert mail.outbox == []  # a worker sends it after commit
    assert receipt_emails_deliver() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [admin.user.email]
    assert "$495.00" in message.body and "Onboarding interviews" in message.subject
    html = message.alternatives[0][0] if isinstance(message.alternatives[0], tuple) else \
        message.alternatives[0].content
    assert "$165.00" in html
    _name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")


def test_closing_twice_writes_nothing_and_shows_the_same_receipt(
        funded_budget, reserve, admin, django_capture_on_commit_callbacks):
    _, study_id = reserve(funded_budget, limit=2)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.reservation_close(study_id=study_id, actor=admin.user)
    transfers, entries = Transfer.objects.count(), ActivityEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        second = services.reservation_close(study_id=study_id, actor=admin.user)
    assert first.pk == second.pk
    assert (Transfer.objects.count(), ActivityEntry.objects.count()) == (transfers, entries)
    assert receipt_emails_deliver() == 1
    assert len(mail.outbox) == 1


def test_after_close_nothing_more_is_charged(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=2)
    services.reservation_close(study_id=study_id, actor=admin.user)
    with pytest.raises(ValidationError) as error:
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor=admin.user)
    assert error.value.code == "closed"


def test_close_when_everything_was_spent_returns_nothing(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=1)
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    receipt = services.reservation_close(study_id=study_id, actor="task:close")
    assert receipt.unused == D("0.00") and receipt.total_spent == D("165.00")
    assert not Transfer.objects.filter(kind="release").exists()
    assert receipt.issued_to is None


def test_receipt_needs_a_closed_reservation(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget)
    with pytest.raises(ValidationError):
        services.receipt_issue(study_id=study_id, actor=admin.user)


@pytest.mark.parametrize("table", ["billing_transfer", "billing_receipt"])
def test_the_database_refuses_to_change_or_delete_ledger_rows(funded_budget, reserve, admin,
                                                              table):
    _, study_id = reserve(funded_budget, limit=1)
    services.reservation_close(study_id=study_id, actor=admin.user)
    for statement in (f"UPDATE {table} SET study_id = NULL",  # noqa: S608
                      f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement)
    assert Receipt.objects.count() == 1


def test_the_database_refuses_a_zero_or_self_transfer(funded_budget):
    transfer = Transfer.objects.get()
    for changes in ({"amount": D("0.00")}, {"credit_account": transfer.debit_account}):
        fields = {f.name: getattr(transfer, f.name) for f in Transfer._meta.concrete_fields
                  if f.name not in ("id", "key")}
        fields.update(changes, key=f"forged:{uuid.uuid4()}")
        with pytest.raises(IntegrityError), transaction.atomic():
            Transfer.objects.create(**fields)


def test_budgets_are_separate_per_workspace(funded_budget, reserve, outsider):
    other = BudgetFactory(workspace=outsider.workspace)
    funds_add(outsider, other, "10")
    assert figures(other).available == D("10.00")
    assert figures(funded_budget).available == D("1000.00")
    assert ledger_problems() == []

"""A payout User Interviews fails for good (SPEC B9): its incentive goes back to the study's
hold (a new, reversing transfer) until Retry charges it again; Total Spent and the receipt
count only incentives delivered or on their way; QUALITY.md invariants 4, 5, 7 hold."""

from decimal import Decimal

import pytest

from billing import payouts
from billing.models import Payout, Receipt, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from billing.services import budget_default_ensure, study_figures
from scheduling.services import session_complete_and_pay
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db

FEE, INCENTIVE = Decimal("65.00"), Decimal("100.00")


@pytest.fixture
def study(admin):
    return funded_ui_study(admin, limit=3)


def _sent(admin, study):
    _, payout = session_complete_and_pay(membership=admin, session_id=ended_session(study).pk)
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_9", ui_status="pending",
                               actor="webhook:evt_1")
    return payout


def _fail(payout, event="evt_2"):
    payouts.payout_record_status(payout_id=payout.pk, ui_payment_id="pay_9", ui_status="failed",
                                 reason="The gift card provider refused the recipient.",
                                 actor=f"webhook:{event}")


def _unpaid(payout):
    return list(Transfer.objects.filter(kind="unpaid", key__startswith=f"unpaid:{payout.pk}:")
                .order_by("created_at").values_list("key", "amount"))


def test_a_failed_payout_returns_its_incentive_to_the_hold_once(study, admin):
    payout = _sent(admin, study)
    assert study_figures(study.pk)["total_spent"] == FEE + INCENTIVE
    _fail(payout)
    _fail(payout, "evt_3")  # a duplicate or late webhook changes nothing more
    payout.refresh_from_db()
    assert payout.state == "failed"
    assert _unpaid(payout) == [(f"unpaid:{payout.pk}:1", INCENTIVE)]
    figures = study_figures(study.pk)
    assert figures["total_spent"] == FEE and figures["incentives"] == Decimal("0.00")
    assert figures["hold"] == 3 * (FEE + INCENTIVE) - FEE
    assert ledger_problems() == []


def test_retry_charges_the_incentive_again_and_paid_counts_it(study, admin):
    payout = _sent(admin, study)
    _fail(payout)
    payouts.payout_retry(membership=admin, payout_id=payout.pk)
    payouts.payout_retry(membership=admin, payout_id=payout.pk)  # a double click
    assert Transfer.objects.filter(key=f"incentive:{payout.session_id}:retry:1").count() == 1
    assert study_figures(study.pk)["incentives"] == INCENTIVE
    # It fails again, is retried again, and this time UI pays it.
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_9", ui_status="pending",
                               actor="task:outbox")
    _fail(payout, "evt_4")
    assert len(_unpaid(payout)) == 2
    payouts.payout_retry(membership=admin, payout_id=payout.pk)
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_9", ui_status="paid",
                               actor="webhook:evt_5")
    payout.refresh_from_db()
    assert payout.state == "paid"
    figures = study_figures(study.pk)
    assert figures["incentives"] == figures["incentives_paid"] == INCENTIVE
    assert figures["total_spent"] == FEE + INCENTIVE
    assert ledger_problems() == []


def test_a_definite_refusal_returns_the_incentive_too(study, admin):
    _, payout = session_complete_and_pay(membership=admin, session_id=ended_session(study).pk)
    payouts.payout_record_failed(payout_id=payout.pk, reason="User Interviews answered 422",
                                 actor="task:outbox")
    assert len(_unpaid(payout)) == 1
    assert study_figures(study.pk)["total_spent"] == FEE


def test_closing_with_a_failed_payout_returns_its_incentive_as_unused(study, admin):
    from recruitment.workflows import study_status_change

    failed = _sent(admin, study)
    _fail(failed)
    delivered = _sent(admin, study)
    payouts.payout_record_status(payout_id=delivered.pk, ui_payment_id="pay_10",
                                 ui_status="paid", actor="webhook:evt_9")
    study_status_change(membership=admin, study=study, to="closed")
    receipt = Receipt.objects.get(study_id=study.pk)
    assert (receipt.participants, receipt.incentives_count) == (2, 1)
    assert receipt.recruitment_fees == 2 * FEE and receipt.incentives == INCENTIVE
    assert receipt.total_spent == 2 * FEE + INCENTIVE
    assert receipt.unused == 3 * (FEE + INCENTIVE) - receipt.total_spent
    assert receipt.reserved == receipt.total_spent + receipt.unused
    budget = budget_default_ensure(workspace=admin.workspace)
    figures = budget_figures_for([budget])[budget.pk]
    assert figures.available == receipt.unused and figures.reserved == Decimal("0.00")
    assert figures.spent == receipt.total_spent
    # Retry after close: the receipt is final, nothing more is charged.
    payouts.payout_retry(membership=admin, payout_id=failed.pk)
    assert Payout.objects.get(pk=failed.pk).state == "failed"
    assert "closed" in Payout.objects.get(pk=failed.pk).failure_reason
    assert ledger_problems() == []


def test_history_says_who_in_words_and_a_payout_is_one_movement(study, admin, client_for):
    from django.urls import reverse

    payout = _sent(admin, study)
    payouts.payout_record_status(payout_id=payout.pk, ui_payment_id="pay_9", ui_status="paid",
                                 actor="webhook:evt_paid_1")
    payouts.payouts_sweep()  # nothing due; the sweeper's actor would read "Rally (automatic)"
    budget = budget_default_ensure(workspace=admin.workspace)
    response = client_for(admin).get(reverse("billing:budget_detail", args=[budget.pk]))
    html = response.content.decode()
    assert "webhook:" not in html and "task:" not in html
    rows = [row for row in html.split("<tr>") if "Incentive" in row]
    assert len(rows) == 1 and admin.user.display_name in rows[0]  # charged once, by a person
    assert "Incentive paid" not in html
    csv = b"".join(client_for(admin).get(
        reverse("billing:budget_history_csv", args=[budget.pk])).streaming_content).decode()
    assert "webhook:" not in csv and "task:" not in csv


def test_machine_actors_read_as_user_interviews_or_rally(study, admin):
    from rally.models import actor_display

    assert actor_display(user_id=None, label="webhook:evt_123") == "User Interviews"
    assert actor_display(user_id=None, label="task:payout_sweeper") == "Rally (automatic)"
    assert actor_display(user_id=admin.user.pk, label="Ana Reyes") == "Ana Reyes"


def test_incentives_settled_by_closing_are_labelled_automatic_at_close(study, admin):
    from recruitment.workflows import study_status_change
    from scheduling.services import session_mark

    session = ended_session(study)
    session_mark(membership=admin, session_id=session.pk, status="completed")
    study_status_change(membership=admin, study=study, to="closed")
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.trigger == "at_close" and payout.get_trigger_display() == "Automatic at close"


def test_ui_is_told_a_trigger_it_knows():
    assert [Payout(trigger=trigger).ui_trigger for trigger in ("manual", "auto_24h", "at_close")] \
        == ["manual", "auto_24h", "auto_24h"]

"""Incentives a team pays its own (Rally-panel) participants itself — a gift card, a bank
transfer, cash — recorded against a budget (issue 9), and the payout that tracks each one
(issue 21): a completed panel session gets a Payout `paid_by_team`, due 24 hours after the
session like User Interviews' (SPEC I2) but never sent to UI; recording the incentive is
"Mark as paid" and makes it Paid, with the method and reference, once.

The ledger treats them like User Interviews incentives without a recruitment fee: one
transfer, key `panel-incentive:<application>`, from the budget's Available straight to the
study's incentives paid (the team has already paid; there is nothing to hold or send).
Refused when Available is short. Billing knows nothing of studies or sessions: the panel
app checks the session was completed and calls this inside its own transaction.

Closing a panel study freezes its receipt here (`receipt_issue_for_team_paid`): no
reservation, no recruitment fee; its lines are the incentives the team recorded, and the
ones due but not paid at close are listed as such (billing.receipts.receipt_lines).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import (
    PAYMENT_METHODS,
    ZERO,
    AccountKind,
    Payout,
    Receipt,
    Transfer,
    TransferKind,
)
from billing.money import amount_parse, money_format
from billing.services import (
    FundsShortError,
    _account,
    _available_account,
    _budget_locked,
    _lock_study,
    _transfer,
    account_balance,
    budget_default_ensure,
    receipt_freeze,
)
from rally import clock

#: How a panel incentive was paid (the team pays it outside Rally).
METHODS = PAYMENT_METHODS
KEY_PREFIX = "panel-incentive:"
MAX_INCENTIVE = Decimal("10000.00")


def panel_incentive_key(application_id):
    return f"{KEY_PREFIX}{application_id}"


def panel_incentive_for(application_id):
    """The recorded incentive of a panel application (a Transfer), or None."""
    return Transfer.objects.filter(key=panel_incentive_key(application_id)).first()


@transaction.atomic
def panel_incentive_record(*, budget, study_id, study_name, application_id, participant_label,
                           amount, method, reference, actor):
    """Record one panel participant's incentive against `budget`, once per application.

    Recording again returns the first transfer and moves nothing. Raises ValidationError by
    field (amount, method, reference) and FundsShortError when Available is short.
    Returns (transfer, created).
    """
    key = panel_incentive_key(application_id)
    amount = amount_parse(amount, maximum=MAX_INCENTIVE)
    if method not in METHODS:
        raise ValidationError({"method": "Choose how the incentive was paid."})
    reference = " ".join(str(reference or "").replace("\x00", "").split())
    if len(reference) > 150:
        raise ValidationError({"reference": "Keep the reference under 150 characters."})
    _lock_study(study_id)
    existing = Transfer.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    payout = (Payout.objects.select_for_update().filter(
        application_id=application_id, study_id=study_id, paid_by_team=True,
        state=Payout.State.NOT_SENT).order_by("created_at").first())
    budget = _budget_locked(budget.pk)
    available_account = _available_account(budget)
    available = account_balance(available_account)
    if amount > available:
        raise FundsShortError(budget=budget, available=available, required=amount)
    paid = _account(workspace_id=budget.workspace_id, kind=AccountKind.INCENTIVES_PAID,
                    budget_id=budget.pk, study_id=study_id)
    description = f"{participant_label} · {METHODS[method]}" + (f" · {reference}"
                                                                if reference else "")
    transfer = _transfer(
        key=key, kind=TransferKind.PAID, budget=budget, study_id=study_id,
        debit=available_account, credit=paid, amount=amount, description=description,
        actor=actor,
        summary=f"Recorded the incentive of {money_format(amount)} paid to "
                f"{participant_label} for {study_name} ({METHODS[method]}"
                + (f", {reference}" if reference else "") + f") from {budget.name}")
    if payout is not None:
        _payout_paid(payout, transfer=transfer, budget=budget, method=method,
                     reference=reference, actor=actor)
    return transfer, True


def _payout_paid(payout, *, transfer, budget, method, reference, actor):
    """The team's payout becomes Paid with what was recorded (the row is locked)."""
    now = clock.now()
    payout.state = Payout.State.PAID
    payout.amount = transfer.amount
    payout.paid_method, payout.paid_reference, payout.paid_budget = method, reference, budget
    payout.paid_by_label = transfer.actor_label
    payout.confirmed_at = payout.updated_at = now
    payout.save(update_fields=["state", "amount", "paid_method", "paid_reference",
                               "paid_budget", "paid_by_label", "confirmed_at", "updated_at"])



def panel_incentive_payments(workspace, *, study_id=None, limit=200):
    """Panel incentives recorded in the workspace (newest first), for the Payments list."""
    transfers = Transfer.objects.filter(workspace=workspace, kind=TransferKind.PAID,
                                        key__startswith=KEY_PREFIX)
    if study_id is not None:
        transfers = transfers.filter(study_id=study_id)
    return transfers.select_related("budget", "actor").order_by("-created_at")[:limit]


def panel_incentives_paid(study_id):
    """The study's recorded panel incentives (Transfers), oldest first."""
    return (Transfer.objects.filter(study_id=study_id, kind=TransferKind.PAID,
                                    key__startswith=KEY_PREFIX)
            .select_related("budget__workspace").order_by("created_at"))


@transaction.atomic
def receipt_issue_for_team_paid(*, study_id, study_name, actor):
    """Freeze the receipt of a study whose incentives the team pays itself (a Rally-panel
    study, issue 21): what was recorded as paid is spent from the budgets it came from;
    nothing was reserved, so nothing returns. Incentives due but not paid at close stay
    due ("Mark as paid" still records them) and the receipt lists them as not paid.

    Issuing again returns the same receipt and sends nothing; a study with no panel
    incentive at all (no completed session) gets none. Returns (receipt or None, created).
    """
    _lock_study(study_id)  # panel_incentive_record takes it too: no payment slips past
    receipt = Receipt.objects.filter(study_id=study_id).first()
    if receipt is not None:
        return receipt, False
    paid = list(panel_incentives_paid(study_id))
    owed = (Payout.objects.filter(study_id=study_id, paid_by_team=True)
            .exclude(state=Payout.State.CANCELED).order_by("created_at").first())
    if not paid and owed is None:
        return None, False
    if paid:
        budget = paid[0].budget
        names = list(dict.fromkeys(transfer.budget.name for transfer in paid))
    else:
        budget = budget_default_ensure(workspace=owed.workspace)
        names = [budget.name]
    spent = sum((transfer.amount for transfer in paid), ZERO)
    receipt = receipt_freeze(
        budget=budget, budget_name=", ".join(names), study_id=study_id, study_name=study_name,
        participants=len(paid), incentive_participants=len(paid), fee=ZERO,
        incentive=paid[0].amount if paid else owed.amount, reserved=spent,
        recruitment_fees=ZERO, incentives=spent, unused=ZERO, actor=actor)
    return receipt, True

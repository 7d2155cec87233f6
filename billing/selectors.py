"""Money reads shared by pages, the study page and the reconciliation check."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Sum

from billing.models import (
    SPENT_KINDS,
    ZERO,
    AccountKind,
    Budget,
    Receipt,
    Reservation,
    Transfer,
    TransferKind,
    UiBillingSummary,
)
from billing.panel_incentives import KEY_PREFIX as PANEL_INCENTIVE_KEY_PREFIX
from billing.reconciliation import ui_billing_differences
from billing.services import CHARGE_KINDS, DEFAULT_BUDGET_NAME, start_figures
from billing.services import study_figures as study_figures  # read here by pages and tests
from rally.selectors import get_workspace_object_for_user


@dataclass
class BudgetFigures:
    available: Decimal = ZERO
    reserved: Decimal = ZERO
    spent: Decimal = ZERO


def get_budget_for_user(membership, budget_id, *, permission):
    """A budget of the member's workspace: 404 for another workspace's (or no) budget, 403
    when the role may not do `permission` (money permissions are the workspace's)."""
    return get_workspace_object_for_user(membership, Budget.objects.select_related("workspace"),
                                         budget_id, permission=permission)


def get_receipt_for_user(membership, receipt_id, *, permission):
    """A receipt of the member's workspace: 404 or 403 as get_budget_for_user."""
    return get_workspace_object_for_user(
        membership, Receipt.objects.select_related("budget", "workspace"), receipt_id,
        permission=permission)


def _net_by(queryset, group):
    """{(group value, account kind): Σ credits - Σ debits} in two grouped queries."""
    net = defaultdict(lambda: ZERO)
    for side, sign in (("credit_account__kind", 1), ("debit_account__kind", -1)):
        for row in queryset.values(group, side).annotate(total=Sum("amount")).order_by():
            net[(row[group], row[side])] += sign * row["total"]
    return net


def budget_figures_for(budgets):
    """{budget id: BudgetFigures}: Available, Reserved (study holds), Spent (fees and
    incentives), summed from the ledger."""
    ids = [budget.pk for budget in budgets]
    net = _net_by(Transfer.objects.filter(budget_id__in=ids), "budget_id")
    figures = {}
    for budget_id in ids:
        figures[budget_id] = BudgetFigures(
            available=net[(budget_id, AccountKind.BUDGET_AVAILABLE)],
            reserved=net[(budget_id, AccountKind.STUDY_HOLD)],
            spent=sum((net[(budget_id, kind)] for kind in SPENT_KINDS), ZERO))
    return figures


def budget_default_for(workspace):
    """The workspace's "Workspace Budget" (SPEC B3), the one a page offers first; None for a
    workspace that somehow has none (reading never makes it)."""
    return Budget.objects.filter(workspace=workspace, name=DEFAULT_BUDGET_NAME).first()


def budgets_with_figures(workspace):
    """The workspace's budgets, each with `.figures` (three queries whatever the count)."""
    budgets = list(Budget.objects.filter(workspace=workspace).order_by("name"))
    figures = budget_figures_for(budgets)
    for budget in budgets:
        budget.figures = figures[budget.pk]
    return budgets


def budget_history(budget):
    """Every movement touching the budget, newest first, with its actor. A UI payout reads
    as one movement, its charge ("Incentive"): the ledger's `paid:<payout>` transfer that
    confirms it moves nothing in or out of the study's Spent and is left out."""
    return (Transfer.objects.filter(budget=budget).exclude(
        kind=TransferKind.PAID, key__startswith="paid:").select_related("actor", "reservation")
            .order_by("-created_at", "-id"))


def budget_history_effect(transfer):
    """How a movement changed the budget's Available (+ in, - out, 0 inside the study)."""
    if transfer.kind in (TransferKind.FUNDS, TransferKind.SHRINK, TransferKind.RELEASE):
        return transfer.amount
    if transfer.kind == TransferKind.RESERVE:
        return -transfer.amount
    if transfer.key.startswith(PANEL_INCENTIVE_KEY_PREFIX):
        return -transfer.amount  # a panel incentive is paid straight from Available
    return ZERO


def _latest_attempts(study_ids):
    """{study id: its latest start's attempt number}."""
    rows = (Reservation.objects.filter(study_id__in=study_ids).values("study_id")
            .annotate(latest=Max("attempt")).order_by())
    return {row["study_id"]: row["latest"] for row in rows}


def reservations_with_figures(workspace, *, budget=None):
    """The workspace's reservations — every start of every study, released ones included —
    newest first, each with its own ledger figures (`.figures`) and `.is_latest`."""
    reservations = Reservation.objects.filter(workspace=workspace).select_related("budget")
    if budget is not None:
        reservations = reservations.filter(budget=budget)
    reservations = list(reservations.order_by("-created_at", "-attempt"))
    study_ids = {r.study_id for r in reservations}
    latest = _latest_attempts(study_ids)
    sums = defaultdict(dict)
    # A start's own movements, then the studies' charges (all on their latest start).
    for row in (Transfer.objects.filter(reservation__in=[r.pk for r in reservations])
                .values("reservation_id", "kind")
                .annotate(total=Sum("amount"), count=Count("id")).order_by()):
        sums[row["reservation_id"]][row["kind"]] = row
    charges = defaultdict(dict)
    for row in (Transfer.objects.filter(study_id__in=study_ids, kind__in=CHARGE_KINDS)
                .values("study_id", "kind").annotate(total=Sum("amount"), count=Count("id"))
                .order_by()):
        charges[row["study_id"]][row["kind"]] = row
    for reservation in reservations:
        reservation.is_latest = latest.get(reservation.study_id) == reservation.attempt
        by_kind = dict(sums[reservation.pk])
        if reservation.is_latest:
            by_kind.update(charges[reservation.study_id])

        def total(kind, by_kind=by_kind):
            return by_kind.get(kind, {}).get("total") or ZERO

        reserved = total(TransferKind.RESERVE) - total(TransferKind.SHRINK)
        spent = (total(TransferKind.FEE) + total(TransferKind.INCENTIVE)
                 - total(TransferKind.UNPAID))
        reservation.figures = {
            "reserved": reserved, "spent": spent, "unused": total(TransferKind.RELEASE),
            "hold": reserved - spent - total(TransferKind.RELEASE),
            "participants": by_kind.get(TransferKind.FEE, {}).get("count", 0),
        }
    return reservations


def receipts_for_workspace(workspace, *, budget=None, issued_from=None, issued_to=None):
    receipts = Receipt.objects.filter(workspace=workspace)
    if budget is not None:
        receipts = receipts.filter(budget=budget)
    if issued_from is not None:
        receipts = receipts.filter(issued_at__date__gte=issued_from)
    if issued_to is not None:
        receipts = receipts.filter(issued_at__date__lte=issued_to)
    return receipts.order_by("-issued_at")


def study_billing_for(study_id):
    """What a study page shows of its money: the reservation of its latest start (or None),
    that start's figures and the study's receipt (or None)."""
    reservation = (Reservation.objects.select_related("budget").filter(study_id=study_id)
                   .order_by("-attempt").first())
    if reservation is None:
        return None
    receipt = Receipt.objects.filter(study_id=study_id).first()
    ui_summary = differences = None
    if receipt is not None:  # closed: compare with User Interviews' closing account (B7)
        ui_summary = UiBillingSummary.objects.filter(study_id=study_id).first()
        if ui_summary is not None:
            differences = ui_billing_differences(study_ids=[study_id]).get(study_id, [])
    return {
        "reservation": reservation,
        "figures": start_figures(study_id=study_id, reservation_id=reservation.pk,
                                 latest=True),
        "receipt": receipt,
        "ui_summary": ui_summary,
        "ui_differences": differences,
    }


def budget_shortfall(*, budget, amount):
    """How much Available lacks for `amount` (Decimal("0.00") when it is enough)."""
    available = budget_figures_for([budget])[budget.pk].available
    return max(amount - available, ZERO)


def reservation_exists(study_id):
    """Whether the study ever reserved funds (any start)."""
    return Reservation.objects.filter(study_id=study_id).exists()


def reservation_open_exists(study_id):
    """Whether funds are reserved for the study now (its latest start is not released)."""
    return Reservation.objects.filter(study_id=study_id, released_at__isnull=True).exists()

"""The ledger's reconciliation: QUALITY.md money invariants 1, 3, 4, 5, 6 and 7, checked
from the rows alone, per start of a study (a study started again after a declined or failed
start has one reservation per start). `billing_check` prints what this finds; tests assert
it finds nothing."""

from collections import defaultdict

from django.db.models import Count, F, Q, Sum

from billing.models import (
    ZERO,
    Account,
    AccountKind,
    Payout,
    Receipt,
    Reservation,
    Transfer,
    TransferKind,
    UiBillingSummary,
)
from billing.money import money_format
from billing.services import CHARGE_KINDS, RESERVATION_KINDS


def _account_balances(transfers):
    balances = defaultdict(lambda: ZERO)
    for side, sign in (("credit_account", 1), ("debit_account", -1)):
        for row in transfers.values(side).annotate(total=Sum("amount")).order_by():
            balances[row[side]] += sign * row["total"]
    return balances


def ledger_problems(*, workspace=None):
    """A list of sentences, one per broken invariant (empty when the ledger is sound)."""
    problems = []
    transfers = Transfer.objects.all()
    accounts = Account.objects.all()
    reservations = Reservation.objects.all()
    if workspace is not None:
        transfers = transfers.filter(workspace=workspace)
        accounts = accounts.filter(workspace=workspace)
        reservations = reservations.filter(workspace=workspace)

    # 1. Double entry.
    bad = transfers.filter(Q(amount__lte=0) | Q(debit_account=F("credit_account")))
    for transfer in bad:
        problems.append(f"Transfer {transfer.key} is not a positive move between two accounts.")
    sides = transfers.aggregate(debits=Sum("amount"), credits=Sum("amount"))
    balances = _account_balances(transfers)
    total = sum(balances.values(), ZERO)
    if total != ZERO or sides["debits"] != sides["credits"]:
        problems.append(f"Debits and credits differ by {total}.")

    # 3. Nothing but the outside world is negative.
    account_rows = {a.pk: a for a in accounts}
    for account_id, balance in balances.items():
        account = account_rows.get(account_id)
        if account and account.kind != AccountKind.EXTERNAL_FUNDING and balance < 0:
            problems.append(f"Account {account.kind} (budget {account.budget_id}, study "
                            f"{account.study_id}) is negative: {balance}.")

    # 5, 4, 6. Per start of a study: its own reserve, shrinks and release; the study's
    # charges belong to its latest start.
    reservations = list(reservations.order_by("study_id", "attempt"))
    latest = {r.study_id: r for r in reservations}  # ordered by attempt: the last one wins
    per_start = defaultdict(dict)
    for row in (transfers.exclude(reservation=None).values("reservation_id", "kind")
                .annotate(total=Sum("amount"), count=Count("id")).order_by()):
        per_start[row["reservation_id"]][row["kind"]] = row
    charges = defaultdict(dict)
    for row in (transfers.filter(kind__in=CHARGE_KINDS).exclude(study_id=None)
                .values("study_id", "kind").annotate(total=Sum("amount"), count=Count("id"))
                .order_by()):
        charges[row["study_id"]][row["kind"]] = row
    strays = transfers.filter(kind__in=RESERVATION_KINDS, reservation=None)
    for transfer in strays:
        problems.append(f"Transfer {transfer.key} names no reservation.")
    hold_by_study = defaultdict(lambda: ZERO)
    for account_id, balance in balances.items():
        account = account_rows.get(account_id)
        if account and account.kind == AccountKind.STUDY_HOLD:
            hold_by_study[account.study_id] += balance
    receipts = {r.study_id: r for r in Receipt.objects.filter(study_id__in=list(latest))}
    for reservation in reservations:
        is_latest = latest[reservation.study_id] is reservation
        kinds = dict(per_start[reservation.pk])
        if is_latest:
            kinds.update(charges[reservation.study_id])

        def total(kind, kinds=kinds):
            return kinds.get(kind, {}).get("total") or ZERO

        name = f"Study {reservation.study_name} ({reservation.study_id}, start " \
               f"{reservation.attempt})"
        reserved = total(TransferKind.RESERVE) - total(TransferKind.SHRINK)
        fees = total(TransferKind.FEE)
        # Net of failed incentives given back to the hold (SPEC B9).
        incentives = total(TransferKind.INCENTIVE) - total(TransferKind.UNPAID)
        # Earlier starts are released, so what the study's hold accounts hold is the latest's.
        hold = hold_by_study[reservation.study_id] if is_latest else \
            reserved - fees - incentives - total(TransferKind.RELEASE)
        participants = kinds.get(TransferKind.FEE, {}).get("count", 0)
        incentive_count = (kinds.get(TransferKind.INCENTIVE, {}).get("count", 0)
                           - kinds.get(TransferKind.UNPAID, {}).get("count", 0))
        if reservation.is_open and not is_latest:
            problems.append(f"{name}: open while a later start exists.")
        if total(TransferKind.RESERVE) != reservation.initial_limit * reservation.per_participant:
            problems.append(f"{name}: reserved {total(TransferKind.RESERVE)} is not limit x "
                            f"(fee + incentive).")
        if reserved != reservation.participation_limit * reservation.per_participant:
            problems.append(f"{name}: net reservation {reserved} does not match its limit.")
        if reserved != fees + incentives + hold + total(TransferKind.RELEASE):
            problems.append(f"{name}: reserved {reserved} ≠ fees {fees} + incentives "
                            f"{incentives} + hold {hold} + released.")
        if fees != participants * reservation.fee or incentives != incentive_count * \
                reservation.incentive or not 0 <= incentive_count <= participants:
            problems.append(f"{name}: fees or incentives are not whole participants.")
        if participants > reservation.participation_limit:
            problems.append(f"{name}: {participants} participants charged over a limit of "
                            f"{reservation.participation_limit}.")
        if not reservation.is_open and hold != ZERO:
            problems.append(f"{name}: closed but still holds {hold}.")
        receipt = receipts.get(reservation.study_id) if is_latest else None
        if receipt is not None and (
                receipt.reserved != reserved or receipt.recruitment_fees != fees
                or receipt.incentives != incentives or receipt.unused != total(
                    TransferKind.RELEASE) or receipt.participants != participants
                or receipt.incentives_count != incentive_count):
            problems.append(f"{name}: the receipt {receipt.number} differs from the ledger.")
        if receipt is not None and receipt.reserved != receipt.total_spent + receipt.unused:
            problems.append(f"{name}: receipt Reserved ≠ Total Spent + Unused.")

    # 7. Per workspace: what came in is where it is now.
    by_workspace = defaultdict(lambda: defaultdict(lambda: ZERO))
    for account_id, balance in balances.items():
        account = account_rows.get(account_id)
        if account:
            by_workspace[account.workspace_id][account.kind] += balance
    for workspace_id, kinds in by_workspace.items():
        added = -kinds[AccountKind.EXTERNAL_FUNDING]
        held = sum((value for kind, value in kinds.items()
                    if kind != AccountKind.EXTERNAL_FUNDING), ZERO)
        if added != held:
            problems.append(f"Workspace {workspace_id}: funds added {added} ≠ available, "
                            f"holds and spent {held}.")
    return problems



# User Interviews' closing account (SPEC B7) -------------------------------------------------


def rally_billing_for_ui(study_ids):
    """{study id: Rally's figures in UI's terms}: sessions charged (completed), incentives
    paid through UI and paid payouts."""
    figures = {study_id: {"completed_sessions": 0, "incentives": ZERO, "paid_payments": 0}
               for study_id in study_ids}
    for row in (Transfer.objects.filter(study_id__in=study_ids, kind=TransferKind.FEE)
                .values("study_id").annotate(count=Count("id")).order_by()):
        figures[row["study_id"]]["completed_sessions"] = row["count"]
    for row in (Transfer.objects.filter(study_id__in=study_ids, kind=TransferKind.PAID,
                                        key__startswith="paid:")
                .values("study_id").annotate(total=Sum("amount")).order_by()):
        figures[row["study_id"]]["incentives"] = row["total"]
    for row in (Payout.objects.filter(study_id__in=study_ids, state=Payout.State.PAID)
                .values("study_id").annotate(count=Count("id")).order_by()):
        figures[row["study_id"]]["paid_payments"] = row["count"]
    return figures


UI_FIGURES = (("completed_sessions", "completed sessions", str),
              ("paid_payments", "paid payments", str),
              ("incentives", "incentives paid", money_format))


def ui_billing_differences(*, workspace=None, study_ids=None):
    """{study id: [(what, UI's figure, Rally's figure), …]} for every study whose closing
    summary from UI differs from Rally's own figures (studies that agree are left out)."""
    summaries = UiBillingSummary.objects.all()
    if workspace is not None:
        summaries = summaries.filter(workspace=workspace)
    if study_ids is not None:
        summaries = summaries.filter(study_id__in=list(study_ids))
    summaries = list(summaries)
    ours = rally_billing_for_ui([summary.study_id for summary in summaries])
    differences = {}
    for summary in summaries:
        rows = [(words, shown(getattr(summary, name)), shown(ours[summary.study_id][name]))
                for name, words, shown in UI_FIGURES
                if getattr(summary, name) != ours[summary.study_id][name]]
        if rows:
            differences[summary.study_id] = rows
    return differences


def ui_billing_problems(*, workspace=None):
    """`ui_billing_differences` as sentences (billing_check prints them)."""
    names = dict(Reservation.objects.values_list("study_id", "study_name"))
    return [f"Study {names.get(study_id, '')} ({study_id}): User Interviews' closing summary "
            f"differs: " + "; ".join(f"{what} UI {theirs}, Rally {ours}"
                                     for what, theirs, ours in rows)
            for study_id, rows in ui_billing_differences(workspace=workspace).items()]

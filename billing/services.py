"""Money writes: budgets, funds, reservations, charges, releases and receipts.

Every function here is idempotent by a business key (see billing.models) and writes its
transfer(s) and activity entries in one transaction. `budget_create` and
`budget_add_funds` are whole use cases (durable). The reservation primitives are
`transaction.atomic` without `durable` so that an orchestration (recruitment's "Start
Recruitment" and "Close") can call them inside its own durable transaction, together with
its outbox rows; called on their own they still run in a transaction of their own.

Locks, always taken in this order so that two operations never wait on each other in a
circle: the study (a transaction-level advisory lock on the study id), then the reservation
row, then the budget row.
"""

import uuid
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from billing.models import (
    ZERO,
    Account,
    AccountKind,
    Budget,
    Receipt,
    Reservation,
    Transfer,
    TransferKind,
    UiBillingSummary,
)
from billing.money import CENT, amount_parse, money_format
from rally import clock
from rally.models import ActivityEntry
from rally.permissions import Permission, require
from rally.services import activity_record

DEFAULT_BUDGET_NAME = "Workspace Budget"
#: The most a single study may reserve; far above any real study, it stops absurd input.
MAX_RESERVATION = Decimal("10000000.00")


class FundsShortError(ValidationError):
    """The budget's Available is short of what a reservation needs; `shortfall` says by how
    much (a Decimal), `available` and `required` give the two figures."""

    def __init__(self, *, budget, available, required):
        self.budget = budget
        self.available = available
        self.required = required
        self.shortfall = required - available
        super().__init__(
            f"{budget.name} is short by {money_format(self.shortfall)}: it has "
            f"{money_format(available)} available and this needs {money_format(required)}.",
            code="funds_short",
        )


# Internals ---------------------------------------------------------------------------------


def _actor_fields(actor):
    """(user, label) from a User or a label such as "task:payout_sweeper"."""
    if isinstance(actor, str):
        if not actor.strip():
            raise ValueError("A money movement needs an actor.")
        return None, actor.strip()
    if actor is None:
        raise ValueError("A money movement needs an actor.")
    return actor, actor.display_name


def _lock_study(study_id):
    """Serialise every money operation on one study (held until the transaction ends)."""
    key = int.from_bytes(uuid.UUID(str(study_id)).bytes[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _budget_locked(budget_id):
    """The budget row, locked alone (`of`: joining its workspace must not lock the
    workspace row too, which every study of the workspace would then queue on)."""
    return (Budget.objects.select_for_update(of=("self",)).select_related("workspace")
            .get(pk=budget_id))


def _account(*, workspace_id, kind, budget_id=None, study_id=None):
    lookup = {"workspace_id": workspace_id, "kind": kind, "budget_id": budget_id,
              "study_id": study_id}
    account = Account.objects.filter(**lookup).first()
    if account is None:
        # Two first movements at once may both try to open the account: the unique index
        # keeps one and the other reads it.
        Account.objects.bulk_create([Account(**lookup)], ignore_conflicts=True)
        account = Account.objects.get(**lookup)
    return account


def _study_account(reservation, kind):
    return _account(workspace_id=reservation.workspace_id, kind=kind,
                    budget_id=reservation.budget_id, study_id=reservation.study_id)


def account_balance(account):
    """Σ credits into the account - Σ debits out of it."""
    sums = Transfer.objects.filter(
        Q(credit_account=account) | Q(debit_account=account)).aggregate(
        credits=Coalesce(Sum("amount", filter=Q(credit_account=account)), ZERO),
        debits=Coalesce(Sum("amount", filter=Q(debit_account=account)), ZERO))
    return sums["credits"] - sums["debits"]


def _available_account(budget):
    return _account(workspace_id=budget.workspace_id, kind=AccountKind.BUDGET_AVAILABLE,
                    budget_id=budget.pk)


def _transfer(*, key, kind, budget, study_id, debit, credit, amount, description, actor,
              summary, reservation=None):
    user, label = _actor_fields(actor)
    transfer = Transfer.objects.create(
        key=key, kind=kind, workspace_id=budget.workspace_id, budget=budget,
        study_id=study_id, reservation=reservation, debit_account=debit,
        credit_account=credit, amount=amount,
        description=description[:300], actor=user, actor_label=label,
        created_at=clock.now())
    activity_record(
        workspace=budget.workspace, action=f"billing.{kind}", summary=summary,
        actor=user, actor_label=label, study_id=study_id,
        data={"transfer": str(transfer.pk), "key": key, "amount": str(amount),
              "budget": str(budget.pk)})
    return transfer


def _money_input(value, *, field):
    if isinstance(value, float) or value is None:
        raise ValidationError({field: "Amounts are Decimal dollars."})
    value = Decimal(value)
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT):
        raise ValidationError({field: "Enter a positive amount with at most two decimals."})
    return value.quantize(CENT)


def _reservation_locked(study_id):
    """The study's reservation, locked: its latest start (the open one, if any — earlier
    starts are always released before the next one reserves)."""
    _lock_study(study_id)
    reservation = (Reservation.objects.select_for_update(of=("self",))
                   .select_related("budget__workspace")
                   .filter(study_id=study_id).order_by("-attempt").first())
    if reservation is None:
        raise ValidationError("This study has no reservation.", code="no_reservation")
    return reservation


def _study_sum(study_id, kind):
    return Transfer.objects.filter(study_id=study_id, kind=kind).aggregate(
        total=Coalesce(Sum("amount"), ZERO), count=Count("id"))


# Budgets -----------------------------------------------------------------------------------


def _budget_name_clean(workspace, name):
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter a name for the budget."})
    if len(name) > 120:
        raise ValidationError({"name": "Keep the name under 120 characters."})
    if Budget.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a budget called {name}."})
    return name


@transaction.atomic(durable=True)
def budget_create(*, membership, name):
    """A new, empty budget in the member's workspace (Admins only)."""
    require(membership, Permission.MANAGE_BUDGETS)
    workspace = membership.workspace
    name = _budget_name_clean(workspace, name)
    budget = Budget.objects.create(workspace=workspace, name=name, created_by=membership.user,
                                   created_at=clock.now())
    activity_record(workspace=workspace, actor=membership.user, action="billing.budget_created",
                    summary=f"Created budget {name}", data={"budget": str(budget.pk)})
    return budget


def budget_default_create(*, workspace):
    """A new workspace's "Workspace Budget" (SPEC B3), made by
    `recruitment.workflows.workspace_create`; a data migration gave older workspaces theirs."""
    return budget_default_ensure(workspace=workspace)


@transaction.atomic
def budget_default_ensure(*, workspace):
    """The workspace's "Workspace Budget", made if it is missing (write paths and seeds;
    pages read it with billing.selectors.budget_default_for and never make it)."""
    budget = Budget.objects.filter(workspace=workspace, name=DEFAULT_BUDGET_NAME).first()
    if budget is None:
        Budget.objects.bulk_create(
            [Budget(workspace=workspace, name=DEFAULT_BUDGET_NAME, created_at=clock.now())],
            ignore_conflicts=True)
        budget = Budget.objects.get(workspace=workspace, name=DEFAULT_BUDGET_NAME)
    return budget


@transaction.atomic(durable=True)
def budget_add_funds(*, membership, budget, amount, reference, key):
    """Add money to a budget (Admin, Ops Manager). `key` (a UUID the form carries) makes a
    repeated submission add the funds once; the same key returns the first transfer."""
    return budget_add_funds_nested(membership=membership, budget=budget, amount=amount,
                                   reference=reference, key=key)


@transaction.atomic
def budget_add_funds_nested(*, membership, budget, amount, reference, key):
    """`budget_add_funds` inside the caller's transaction (seeds, orchestrations)."""
    require(membership, Permission.ADD_FUNDS)
    if budget.workspace_id != membership.workspace_id:
        raise PermissionDenied
    amount = amount_parse(amount)
    reference = " ".join((reference or "").split())
    if not reference:
        raise ValidationError({"reference": "Enter a reference, such as a purchase order "
                                            "or invoice number."})
    if len(reference) > 200:
        raise ValidationError({"reference": "Keep the reference under 200 characters."})
    try:
        business_key = f"funds:{uuid.UUID(str(key))}"
    except ValueError:
        raise ValidationError({"key": "This form has expired; open Add Funds again."}) \
            from None
    budget = _budget_locked(budget.pk)
    existing = Transfer.objects.filter(key=business_key).first()
    if existing is not None:
        return existing
    external = _account(workspace_id=budget.workspace_id, kind=AccountKind.EXTERNAL_FUNDING)
    return _transfer(
        key=business_key, kind=TransferKind.FUNDS, budget=budget, study_id=None,
        debit=external, credit=_available_account(budget), amount=amount,
        description=reference, actor=membership.user,
        summary=f"Added {money_format(amount)} to {budget.name} ({reference})")


# Reservations ------------------------------------------------------------------------------


@transaction.atomic
def budget_reserve_for_study(*, budget, study_id, study_name, participation_limit, fee,
                             incentive, actor, attempt=1):
    """Hold participation_limit x (fee + incentive) of the budget for a study's start
    number `attempt` (SPEC B3).

    Refuses with FundsShortError (carrying the shortfall) when Available is short. The
    prices are copied onto the reservation: the start keeps them. Reserving again for the
    same start returns its reservation and moves nothing. A later start (User Interviews
    declined the study, or the hand-off failed) reserves anew once the earlier start's
    reservation is released; while it is still open, or when it took charges, the new
    start is refused.
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError("A start attempt is a whole number of at least 1.")
    if isinstance(participation_limit, bool) or not isinstance(participation_limit, int) \
            or participation_limit < 1:
        raise ValidationError({"participation_limit": "The participation limit must be a "
                                                      "whole number of at least 1."})
    fee = _money_input(fee, field="fee")
    incentive = _money_input(incentive, field="incentive")
    required = participation_limit * (fee + incentive)
    if required > MAX_RESERVATION:
        raise ValidationError({"participation_limit": "That reservation is larger than any "
                                                      "study can need."})
    _lock_study(study_id)
    latest = Reservation.objects.filter(study_id=study_id).order_by("-attempt").first()
    if latest is not None and latest.attempt == attempt:
        return latest
    if latest is not None and latest.attempt > attempt:
        raise ValidationError("A later start of this study already reserved its funds.",
                              code="superseded")
    if latest is not None and latest.is_open:
        raise ValidationError("The funds of this study's last start are still reserved; "
                              "they return to the budget before it can start again.",
                              code="still_reserved")
    if latest is not None and Receipt.objects.filter(study_id=study_id).exists():
        raise ValidationError("This study is closed: its final billing is frozen.",
                              code="closed")
    if latest is not None and _study_sum(study_id, TransferKind.FEE)["count"]:
        raise ValidationError("Participants were already paid for from this study's last "
                              "start, so it can't be started again.", code="charged")
    budget = _budget_locked(budget.pk)
    available_account = _available_account(budget)
    available = account_balance(available_account)
    if required > available:
        raise FundsShortError(budget=budget, available=available, required=required)
    _, label = _actor_fields(actor)
    reservation = Reservation.objects.create(
        workspace_id=budget.workspace_id, budget=budget, study_id=study_id, attempt=attempt,
        study_name=study_name[:200], participation_limit=participation_limit,
        initial_limit=participation_limit, fee=fee, incentive=incentive,
        created_by_label=label, created_at=clock.now())
    again = f", start {attempt}" if attempt > 1 else ""
    _transfer(
        key=reservation.ledger_key("reserve"), kind=TransferKind.RESERVE, budget=budget,
        study_id=study_id, reservation=reservation, debit=available_account,
        credit=_study_account(reservation, AccountKind.STUDY_HOLD), amount=required,
        description=study_name, actor=actor,
        summary=f"Reserved {money_format(required)} from {budget.name} for {study_name} "
                f"({participation_limit} \u00d7 {money_format(fee + incentive)}{again})")
    return reservation


@transaction.atomic
def reservation_shrink(*, study_id, participation_limit, actor):
    """Lower a study's participation limit: the hold for the seats given up returns to
    Available. The new limit may not go below the participants already charged."""
    reservation = _reservation_locked(study_id)
    if not reservation.is_open:
        raise ValidationError("This study's reservation is already closed.", code="closed")
    if isinstance(participation_limit, bool) or not isinstance(participation_limit, int) \
            or participation_limit < 1:
        raise ValidationError({"participation_limit": "The participation limit must be a "
                                                      "whole number of at least 1."})
    if participation_limit >= reservation.participation_limit:
        if participation_limit == reservation.participation_limit:
            return None
        raise ValidationError({"participation_limit": "A reservation can only be lowered."})
    charged = _study_sum(study_id, TransferKind.FEE)["count"]
    if participation_limit < charged:
        raise ValidationError({"participation_limit": f"{charged} participants are already "
                                                      f"paid for; the limit can't go lower."})
    seats = reservation.participation_limit - participation_limit
    amount = seats * reservation.per_participant
    key = f"{reservation.ledger_key('shrink')}:{participation_limit}"
    hold = _study_account(reservation, AccountKind.STUDY_HOLD)
    if account_balance(hold) < amount:
        raise ValidationError("The study's hold is smaller than the seats given up.")
    budget = _budget_locked(reservation.budget_id)
    transfer = _transfer(
        key=key, kind=TransferKind.SHRINK, budget=budget, study_id=study_id,
        reservation=reservation, debit=hold, credit=_available_account(budget), amount=amount,
        description=reservation.study_name,
        actor=actor,
        summary=f"Returned {money_format(amount)} to {budget.name}: {reservation.study_name} "
                f"limit lowered from {reservation.participation_limit} to {participation_limit}")
    reservation.participation_limit = participation_limit
    reservation.save(update_fields=["participation_limit"])
    return transfer


@transaction.atomic
def reservation_charge_participant(*, study_id, session_id, actor):
    """Move one recruitment fee and one incentive from the study's hold to Spent (SPEC B4).

    At most once per session (keys `fee:<session>` and `incentive:<session>`), and never
    for more participants than the limit. Returns (fee transfer, incentive transfer).
    """
    outcome = reservation_charge_participants(study_id=study_id, session_ids=[session_id],
                                              actor=actor)[session_id]
    if isinstance(outcome, ValidationError):
        raise outcome
    return outcome


def _activity_entries(*, workspace_id, transfers, user, label, summaries):
    """The activity entries of transfers written together (one insert for them all)."""
    return [ActivityEntry(
        workspace_id=workspace_id, actor=user, actor_label=label,
        action=f"billing.{transfer.kind}", summary=ActivityEntry.summary_fitted(summary),
        study_id=transfer.study_id,
        data={"transfer": str(transfer.pk), "key": transfer.key, "amount": str(transfer.amount),
              "budget": str(transfer.budget_id)}, created_at=transfer.created_at)
        for transfer, summary in zip(transfers, summaries, strict=True)]


@transaction.atomic
def reservation_charge_participants(*, study_id, session_ids, actor):
    """`reservation_charge_participant` for several sessions of one study at once (the
    payout sweeper's batch): one study lock, one read of what is already charged, one
    insert of the transfers and one of their activity entries.

    Returns {session_id: (fee transfer, incentive transfer) or the ValidationError that
    refused it}: exactly what charging the sessions one by one, in this order, would give
    (a session already charged gets its transfers back; past the limit, or once the hold
    is spent, the rest are refused).
    """
    user, label = _actor_fields(actor)
    reservation = _reservation_locked(study_id)
    session_ids = list(dict.fromkeys(session_ids))
    keys = {session_id: (f"fee:{session_id}", f"incentive:{session_id}")
            for session_id in session_ids}
    existing = {t.key: t for t in Transfer.objects.filter(
        key__in=[key for pair in keys.values() for key in pair])}
    outcomes, to_charge = {}, []
    for session_id, (fee_key, incentive_key) in keys.items():
        found = [existing[key] for key in (fee_key, incentive_key) if key in existing]
        if len(found) == 2:
            outcomes[session_id] = tuple(found)
        elif found:
            raise RuntimeError(f"Session {session_id} has half a charge: "
                               f"{sorted(t.key for t in found)}.")
        elif not reservation.is_open:
            outcomes[session_id] = ValidationError(
                "This study's reservation is closed; nothing more can be charged to it.",
                code="closed")
        else:
            to_charge.append(session_id)
    if not to_charge:
        return outcomes
    charged = _study_sum(study_id, TransferKind.FEE)["count"]
    hold = _study_account(reservation, AccountKind.STUDY_HOLD)
    balance = account_balance(hold)
    fees_spent = _study_account(reservation, AccountKind.RECRUITMENT_FEES_SPENT)
    owed = _study_account(reservation, AccountKind.INCENTIVES_OWED)
    name, budget, now = reservation.study_name, reservation.budget, clock.now()
    transfers, summaries = [], []
    for session_id in to_charge:
        if charged >= reservation.participation_limit:
            outcomes[session_id] = ValidationError(
                f"All {reservation.participation_limit} paid participants of this study "
                f"are already charged.", code="limit_reached")
            continue
        if balance < reservation.per_participant:
            outcomes[session_id] = ValidationError(
                "The study's hold cannot cover another participant.")
            continue
        fee_key, incentive_key = keys[session_id]
        pair = tuple(Transfer(
            key=key, kind=kind, workspace_id=budget.workspace_id, budget=budget,
            study_id=study_id, debit_account=hold, credit_account=credit, amount=amount,
            description=name[:300], actor=user, actor_label=label, created_at=now)
            for key, kind, credit, amount in (
                (fee_key, TransferKind.FEE, fees_spent, reservation.fee),
                (incentive_key, TransferKind.INCENTIVE, owed, reservation.incentive)))
        transfers.extend(pair)
        summaries += [f"Charged the recruitment fee of {money_format(reservation.fee)} for a "
                      f"participant of {name}",
                      f"Charged the incentive of {money_format(reservation.incentive)} for a "
                      f"participant of {name}"]
        outcomes[session_id] = pair
        charged += 1
        balance -= reservation.per_participant
    # The keys were checked under the study's lock, so no other charge can insert them now;
    # the unique index on `key` would still refuse a duplicate.
    Transfer.objects.bulk_create(transfers)
    ActivityEntry.objects.bulk_create(_activity_entries(
        workspace_id=budget.workspace_id, transfers=transfers, user=user, label=label,
        summaries=summaries))
    return {session_id: outcomes[session_id] for session_id in session_ids}


@transaction.atomic
def incentive_mark_paid(*, study_id, session_id, payout_id, actor):
    """Record that the incentive charged for a session was paid out (key `paid:<payout>`)."""
    reservation = _reservation_locked(study_id)
    key = f"paid:{payout_id}"
    existing = Transfer.objects.filter(key=key).first()
    if existing is not None:
        return existing
    charge = Transfer.objects.filter(key=f"incentive:{session_id}", study_id=study_id).first()
    if charge is None:
        raise ValidationError("This session's incentive was never charged.",
                              code="not_charged")
    owed = charge.credit_account
    if account_balance(owed) < charge.amount:
        raise ValidationError("No incentive of this study is left to pay.", code="paid")
    return _transfer(
        key=key, kind=TransferKind.PAID, budget=reservation.budget, study_id=study_id,
        debit=owed, credit=_study_account(reservation, AccountKind.INCENTIVES_PAID),
        amount=charge.amount, description=reservation.study_name, actor=actor,
        summary=f"Paid the incentive of {money_format(charge.amount)} for a participant of "
                f"{reservation.study_name}")


def _incentive_reversals(study_id, payout_id):
    return Transfer.objects.filter(study_id=study_id, kind=TransferKind.UNPAID,
                                   key__startswith=f"unpaid:{payout_id}:").count()


def _incentive_recharges(study_id, session_id):
    return Transfer.objects.filter(study_id=study_id, kind=TransferKind.INCENTIVE,
                                   key__startswith=f"incentive:{session_id}:retry:").count()


@transaction.atomic
def incentive_return_failed(*, study_id, session_id, payout_id, actor):
    """A payout UI failed for good gives its incentive back to the study's hold (SPEC B9):
    `unpaid:<payout>:<n>`, incentives owed → hold. Only while the study's reservation is
    open (after close the receipt is final and the charge stays; Retry sends it again) and
    only while the incentive is charged net. Returns the transfer or None."""
    reservation = _reservation_locked(study_id)
    charge = Transfer.objects.filter(key=f"incentive:{session_id}", study_id=study_id).first()
    if charge is None or not reservation.is_open:
        return None
    if Transfer.objects.filter(key=f"paid:{payout_id}").exists():
        return None  # delivered: nothing to give back
    returned = _incentive_reversals(study_id, payout_id)
    if returned > _incentive_recharges(study_id, session_id):
        return None  # already given back, not charged again since
    return _transfer(
        key=f"unpaid:{payout_id}:{returned + 1}", kind=TransferKind.UNPAID,
        budget=reservation.budget, study_id=study_id, debit=charge.credit_account,
        credit=_study_account(reservation, AccountKind.STUDY_HOLD), amount=charge.amount,
        description=reservation.study_name, actor=actor,
        summary=f"Returned the failed incentive of {money_format(charge.amount)} to the hold "
                f"of {reservation.study_name}")


@transaction.atomic
def incentive_charge_again(*, study_id, session_id, payout_id, actor):
    """"Retry" of a payout whose incentive was given back: charge it again from the hold,
    `incentive:<session>:retry:<n>`. Nothing to do when it is still charged. Refuses with a
    ValidationError when the reservation is closed or the hold cannot cover it."""
    reservation = _reservation_locked(study_id)
    returned = _incentive_reversals(study_id, payout_id)
    again = _incentive_recharges(study_id, session_id)
    if returned <= again:
        return None
    if not reservation.is_open:
        raise ValidationError("This study's reservation is closed; nothing more can be "
                              "charged to it.", code="closed")
    charge = Transfer.objects.get(key=f"incentive:{session_id}", study_id=study_id)
    hold = _study_account(reservation, AccountKind.STUDY_HOLD)
    if account_balance(hold) < charge.amount:
        raise ValidationError("The study's hold cannot cover this incentive again.")
    return _transfer(
        key=f"incentive:{session_id}:retry:{again + 1}", kind=TransferKind.INCENTIVE,
        budget=reservation.budget, study_id=study_id, debit=hold, credit=charge.credit_account,
        amount=charge.amount, description=reservation.study_name, actor=actor,
        summary=f"Charged the incentive of {money_format(charge.amount)} again for a "
                f"participant of {reservation.study_name} (payout retried)")


@transaction.atomic
def reservation_release_unused(*, study_id, actor):
    """Close the study's reservation (its latest start): what is still held returns to
    Available (SPEC B5; also when User Interviews declines a start, R2). Releasing again
    moves nothing. Returns the release transfer (None when nothing was left)."""
    reservation = _reservation_locked(study_id)
    key = reservation.ledger_key("release")
    if not reservation.is_open:
        return Transfer.objects.filter(key=key).first()
    hold = _study_account(reservation, AccountKind.STUDY_HOLD)
    unused = account_balance(hold)
    transfer = None
    budget = _budget_locked(reservation.budget_id)
    if unused > 0:
        transfer = _transfer(
            key=key, kind=TransferKind.RELEASE, budget=budget, study_id=study_id,
            reservation=reservation, debit=hold, credit=_available_account(budget),
            amount=unused,
            description=reservation.study_name, actor=actor,
            summary=f"Returned the unused {money_format(unused)} of {reservation.study_name} "
                    f"to {budget.name}")
    else:
        user, label = _actor_fields(actor)
        activity_record(workspace=budget.workspace, action="billing.release", actor=user,
                        actor_label=label, study_id=study_id,
                        summary=f"Closed the reservation of {reservation.study_name}: "
                                f"nothing was left unused",
                        data={"key": key, "amount": "0.00", "budget": str(budget.pk)})
    reservation.released_at = clock.now()
    reservation.save(update_fields=["released_at"])
    return transfer


# Receipts ----------------------------------------------------------------------------------


#: Movements that belong to one start of a study (the transfer names its reservation).
RESERVATION_KINDS = (TransferKind.RESERVE, TransferKind.SHRINK, TransferKind.RELEASE)
#: Movements charged to a study: always to its latest start (see billing.models).
CHARGE_KINDS = (TransferKind.FEE, TransferKind.INCENTIVE, TransferKind.PAID,
                TransferKind.UNPAID)


def reservation_transfers_q(*, reservation_id, study_id, latest):
    """The transfers of one start: its own reserve, shrinks and release, and — for the
    study's latest start — the study's charges."""
    own = Q(reservation_id=reservation_id)
    if latest:
        own |= Q(study_id=study_id, kind__in=CHARGE_KINDS)
    return own


def study_figures(study_id, reservation_id=None):
    """The money of one study's latest start (or of the start `reservation_id`), from the
    ledger: reserved (net of shrinks), fees, incentives, spent, hold, returned and the
    participants charged. Earlier, released starts do not count, so Reserved = Total Spent
    + Hold + Unused holds for the start that ran."""
    latest = (Reservation.objects.filter(study_id=study_id).order_by("-attempt")
              .values_list("pk", flat=True).first())
    if latest is None:  # never reserved: whatever the ledger has for the study
        return _figures(Transfer.objects.filter(study_id=study_id))
    reservation_id = reservation_id or latest
    return start_figures(study_id=study_id, reservation_id=reservation_id,
                         latest=reservation_id == latest)


def start_figures(*, study_id, reservation_id, latest):
    """`study_figures` of one start whose place (latest or not) the caller knows."""
    return _figures(Transfer.objects.filter(reservation_transfers_q(
        reservation_id=reservation_id, study_id=study_id, latest=latest)))


def _figures(transfers):
    rows = {row["kind"]: row for row in transfers
            .values("kind").annotate(total=Sum("amount"), count=Count("id")).order_by()}

    def total(kind):
        return rows.get(kind, {}).get("total") or ZERO

    def count(kind):
        return rows.get(kind, {}).get("count", 0)

    reserved = total(TransferKind.RESERVE) - total(TransferKind.SHRINK)
    fees = total(TransferKind.FEE)
    # Incentives delivered or on their way: a failed one given back does not count (B9).
    incentives = total(TransferKind.INCENTIVE) - total(TransferKind.UNPAID)
    unused = total(TransferKind.RELEASE)
    return {
        "reserved": reserved, "recruitment_fees": fees, "incentives": incentives,
        "total_spent": fees + incentives, "unused": unused,
        "hold": reserved - fees - incentives - unused,
        "participants": count(TransferKind.FEE),
        "incentive_participants": count(TransferKind.INCENTIVE) - count(TransferKind.UNPAID),
        "incentives_paid": total(TransferKind.PAID),
        "incentives_returned": total(TransferKind.UNPAID),
    }


def _receipt_number(now):
    return f"R-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


@transaction.atomic
def receipt_issue(*, study_id, study_name=None, actor):
    """Freeze the final billing details of a study whose reservation is closed (SPEC B6).

    Issuing again returns the same receipt and sends nothing. A new receipt is emailed, with
    its PDF, to the person who closed the study by a worker after commit (a ReceiptEmail
    row written here). Returns (receipt, created).
    """
    reservation = _reservation_locked(study_id)
    receipt = Receipt.objects.filter(study_id=study_id).first()
    if receipt is not None:
        return receipt, False
    if reservation.is_open:
        raise ValidationError("Release the reservation before issuing the receipt.",
                              code="open")
    figures = start_figures(study_id=study_id, reservation_id=reservation.pk, latest=True)
    participants = figures["participants"]
    incentive_participants = figures["incentive_participants"]
    if (figures["hold"] != ZERO or incentive_participants > participants
            or figures["recruitment_fees"] != participants * reservation.fee
            or figures["incentives"] != incentive_participants * reservation.incentive):
        raise RuntimeError(f"The ledger of study {study_id} does not add up: {figures}.")
    receipt = receipt_freeze(
        budget=reservation.budget, budget_name=reservation.budget.name, study_id=study_id,
        study_name=study_name or reservation.study_name, participants=participants,
        incentive_participants=incentive_participants, fee=reservation.fee,
        incentive=reservation.incentive, reserved=figures["reserved"],
        recruitment_fees=figures["recruitment_fees"], incentives=figures["incentives"],
        unused=figures["unused"], actor=actor)
    return receipt, True


def receipt_freeze(*, budget, budget_name, study_id, study_name, participants,
                   incentive_participants, fee, incentive, reserved, recruitment_fees,
                   incentives, unused, actor):
    """Write a study's Receipt row with its activity entry and its email (sent by a worker
    after commit, SPEC B7). The caller holds the study's lock and has checked the figures."""
    user, label = _actor_fields(actor)
    now = clock.now()
    receipt = Receipt.objects.create(
        number=_receipt_number(now), workspace_id=budget.workspace_id, budget=budget,
        budget_name=budget_name[:120], study_id=study_id, study_name=study_name[:200],
        participants=participants, incentive_participants=incentive_participants, fee=fee,
        incentive=incentive, reserved=reserved, recruitment_fees=recruitment_fees,
        incentives=incentives, total_spent=recruitment_fees + incentives, unused=unused,
        issued_to=user, issued_by_label=label, issued_at=now)
    activity_record(workspace=budget.workspace, action="billing.receipt_issued",
                    actor=user, actor_label=label, study_id=study_id,
                    summary=f"Issued receipt {receipt.number} for {receipt.study_name}: "
                            f"spent {money_format(receipt.total_spent)}, returned "
                            f"{money_format(receipt.unused)}",
                    data={"receipt": str(receipt.pk)})
    from billing.receipts import receipt_email_queue

    receipt_email_queue(receipt=receipt)
    return receipt


@transaction.atomic
def reservation_close(*, study_id, study_name=None, actor):
    """Release what is unused and freeze the receipt, together. Closing twice writes
    nothing new and returns the same receipt."""
    reservation_release_unused(study_id=study_id, actor=actor)
    receipt, _ = receipt_issue(study_id=study_id, study_name=study_name, actor=actor)
    return receipt


# User Interviews' closing account ----------------------------------------------------------


@transaction.atomic
def ui_billing_summary_record(*, workspace, study_id, completed_sessions, incentives,
                              paid_payments, actor):
    """Keep UI's closing billing summary of a study (the closure's answer and the
    `recruit.billing_finalized` webhook both bring it; the same figures again change
    nothing). Returns (summary, changed). The comparison with Rally's own figures is
    billing.reconciliation.ui_billing_differences."""
    _, label = _actor_fields(actor)
    figures = {"completed_sessions": completed_sessions, "incentives": incentives,
               "paid_payments": paid_payments}
    summary = UiBillingSummary.objects.select_for_update().filter(study_id=study_id).first()
    if summary is not None and all(getattr(summary, name) == value
                                   for name, value in figures.items()):
        return summary, False
    if summary is None:
        UiBillingSummary.objects.bulk_create([UiBillingSummary(
            workspace=workspace, study_id=study_id, received_at=clock.now(),
            received_from=label[:200], **figures)], ignore_conflicts=True)
        summary = UiBillingSummary.objects.select_for_update().get(study_id=study_id)
    for name, value in figures.items():
        setattr(summary, name, value)
    summary.received_at, summary.received_from = clock.now(), label[:200]
    summary.save()
    activity_record(workspace=workspace, action="billing.ui_summary", actor=None,
                    actor_label=label, study_id=study_id,
                    summary=f"User Interviews closed its account of the study: "
                            f"{completed_sessions} completed sessions, {paid_payments} "
                            f"payments, {money_format(incentives)} in incentives paid",
                    data={name: str(value) for name, value in figures.items()})
    return summary, True

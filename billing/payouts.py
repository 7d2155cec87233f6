"""Incentive payouts: one per completed session, sent through User Interviews exactly once.

A completed session gets a `Payout` due 24 hours after its end (SPEC I2); "Complete & Send
payment" sends it at once (I1). Sending is one short transaction: the study's ledger is
charged (fee + incentive, keys `fee:<session>`/`incentive:<session>`), the payout moves to
Sending and an outbox row `create_payment` (subject = payout id) is written. A worker then
asks UI to pay under `externalId = payout id`; its answer is recorded here (Sent / Failed),
and UI's confirmation makes it Paid (ledger key `paid:<payout>`). Every step is idempotent,
so retries, crashes, double clicks and duplicate webhooks pay once (I3).

Billing refers to sessions and studies by UUID only; scheduling calls `payout_schedule`
inside its own transaction, recruitment's outbox handler calls the `payout_record_*`
functions.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.urls import reverse

from billing.incentive_due import incentive_due_at
from billing.models import Payout, Reservation
from billing.money import money_format
from billing.services import (
    _actor_fields,
    incentive_charge_again,
    incentive_mark_paid,
    incentive_return_failed,
    reservation_charge_participant,
    reservation_charge_participants,
)
from rally import clock, notifications
from rally.models import ActivityEntry, OutboxOperation
from rally.permissions import Permission, require
from rally.services import activity_record, outbox_enqueue, outbox_enqueue_many

logger = logging.getLogger(__name__)

#: Why a payout is held: the session was marked No-show before it was sent (C5). Only a
#: payout held for this reason is reopened by the No-show's Undo.
NO_SHOW_REASON = "The session was marked No-show."
#: Payouts one sweep claims per transaction.
SWEEP_BATCH = 200
PAYMENT_OPERATION = "create_payment"
SWEEPER_ACTOR = "task:payout_sweeper"

State = Payout.State
Trigger = Payout.Trigger


class PayoutRefused(Exception):
    """A refusal meant for the person who asked (shown as a message)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _locked(*, skip_locked=False):
    """Payouts locked for a change: the payout rows only (never the workspace row joined
    for the activity entries, which would serialise a whole workspace)."""
    return (Payout.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .select_related("workspace"))


def _move(payout, state, *, now, **fields):
    """The one place a payout changes state (the transitions are in `Payout.TRANSITIONS`)."""
    if not payout.can_become(state):
        raise PayoutRefused(f"A {payout.get_state_display()} payout cannot become "
                            f"{State(state).label}.")
    payout.state = state
    payout.updated_at = now
    for name, value in fields.items():
        setattr(payout, name, value)
    payout.save(update_fields=["state", "updated_at", *fields])


def _record(payout, *, action, summary, actor, data=None):
    user, label = _actor_fields(actor)
    activity_record(workspace=payout.workspace, action=f"payout.{action}", summary=summary,
                    actor=user, actor_label=label, study_id=payout.study_id,
                    data={"payout": str(payout.pk), "session": str(payout.session_id),
                          **(data or {})})


# Scheduling --------------------------------------------------------------------------------


@transaction.atomic
def payout_schedule(*, workspace, study_id, study_name, session_id, application_id,
                    participant_label, incentive, ended_at, actor, paid_by_team=False):
    """The payout of a session just completed, due 24 h after its end. Idempotent: the
    same session always has the one payout (the unique index settles a race).

    Runs inside the caller's transaction (scheduling's `session_mark`). The amount is the
    incentive the study's reservation copied at start, else the study's own. A payout
    `paid_by_team` (a Rally-panel participant's) is never sent to User Interviews: it is
    due at the same time, and the team marks it paid (billing.panel_incentives).
    """
    existing = Payout.objects.filter(session_id=session_id).first()
    if existing is not None:
        return existing
    reservation = Reservation.objects.filter(study_id=study_id).only("incentive").first()
    amount = reservation.incentive if reservation is not None else incentive
    now = clock.now()
    created = Payout.objects.bulk_create(
        [Payout(workspace=workspace, study_id=study_id, study_name=study_name[:200],
                session_id=session_id, application_id=application_id,
                participant_label=participant_label[:200], amount=amount,
                due_at=incentive_due_at(ended_at), paid_by_team=paid_by_team, created_at=now,
                updated_at=now)],
        ignore_conflicts=True)
    payout = Payout.objects.get(session_id=session_id)
    if created and created[0].pk == payout.pk:
        _record(payout, action="scheduled", actor=actor,
                summary=f"Scheduled the incentive for {payout.participant_label} "
                        + ("(due 24 hours after the session, paid by the team)"
                           if paid_by_team else
                           "(sent automatically 24 hours after the session)"))
    return payout


@transaction.atomic
def payout_cancel(*, session_id, reason, actor):
    """A session's payout not yet sent is canceled (the participant was rejected before it
    was due): nothing was charged, nothing is paid. Returns the payout or None."""
    payout = Payout.objects.select_for_update().filter(session_id=session_id).first()
    if payout is None or payout.state != State.NOT_SENT:
        return payout
    _move(payout, State.CANCELED, now=clock.now(), failure_reason=reason[:2000])
    _record(payout, action="canceled", actor=actor,
            summary=f"Canceled the incentive for {payout.participant_label}: {reason}")
    return payout


def payout_hold(*, session_id, actor):
    """The session was marked No-show: its payout not yet sent is held (Canceled), nothing
    charged. Refused (PayoutRefused) once the incentive has been sent: a No-show can no
    longer stop it. No payout at all (never completed): nothing to do. Returns the payout."""
    payout = Payout.objects.select_for_update().filter(session_id=session_id).first()
    if payout is None or (payout.state == State.CANCELED
                          and payout.failure_reason == NO_SHOW_REASON):
        return payout
    if payout.state != State.NOT_SENT:
        raise PayoutRefused(f"The incentive for {payout.participant_label} has already been "
                            f"sent, so the session can no longer be marked No-show.")
    _move(payout, State.CANCELED, now=clock.now(), failure_reason=NO_SHOW_REASON)
    _record(payout, action="held", actor=actor,
            summary=f"Held the incentive for {payout.participant_label}: the session was "
                    f"marked No-show")
    return payout


def payout_reopen(*, session_id, actor):
    """Undo of a No-show: the payout it held is due again, at its original time (sent at
    the next sweep if that has passed). A payout canceled for another reason (the
    participant was rejected) stays canceled. Returns the payout or None."""
    payout = Payout.objects.select_for_update().filter(session_id=session_id).first()
    if payout is None or payout.state != State.CANCELED or (
            payout.failure_reason != NO_SHOW_REASON):
        return payout
    _move(payout, State.NOT_SENT, now=clock.now(), failure_reason="")
    _record(payout, action="reopened", actor=actor,
            summary=f"The incentive for {payout.participant_label} is due again (No-show "
                    f"undone)")
    return payout


def payouts_by_session(session_ids):
    """{session id: Payout} of these sessions (the Sessions list says where each stands and
    when an incentive not yet sent goes out)."""
    return {payout.session_id: payout for payout in Payout.objects.filter(
        session_id__in=list(session_ids)).only("session_id", "state", "due_at", "amount",
                                               "failure_reason")}


def payout_was_sent(payout):
    """Whether a payout has left Rally's hands (a No-show can no longer stop it)."""
    return payout is not None and payout.state not in (State.NOT_SENT, State.CANCELED)


def payouts_for_workspace(*, workspace, study_id=None):
    """The Payments list: newest first, optionally one study's."""
    payouts = Payout.objects.filter(workspace=workspace).order_by("-created_at", "-id")
    if study_id is not None:
        payouts = payouts.filter(study_id=study_id)
    return payouts


def payout_studies(*, workspace):
    """(study_id, study name) of the studies with payouts, for the filter."""
    return list(Payout.objects.filter(workspace=workspace).values_list("study_id", "study_name")
                .distinct().order_by("study_name", "study_id"))


def payment_operations(payout_id):
    """The outbox rows that asked UI to pay this payout, oldest first."""
    return OutboxOperation.objects.filter(operation=PAYMENT_OPERATION,
                                          payload__payout_id=str(payout_id)
                                          ).order_by("created_at", "id")


# Sending -----------------------------------------------------------------------------------


def _send_locked(payout, *, trigger, actor, now):
    """Charge the ledger, move to Sending and write the outbox row (payout row locked)."""
    try:
        with transaction.atomic():  # a refused charge leaves the rest of a batch intact
            reservation_charge_participant(study_id=payout.study_id,
                                           session_id=payout.session_id, actor=actor)
            # A Retry after UI failed it for good: its incentive went back to the hold.
            incentive_charge_again(study_id=payout.study_id, session_id=payout.session_id,
                                   payout_id=payout.pk, actor=actor)
    except ValidationError as error:
        reason = " ".join(error.messages)
        if payout.state != State.SENDING:
            _move(payout, State.SENDING, now=now, trigger=trigger, sent_at=now)
        _move(payout, State.FAILED, now=now, failure_reason=reason[:2000])
        _record(payout, action="failed", actor=actor,
                summary=f"Could not send the incentive for {payout.participant_label}: "
                        f"{reason}")
        payouts_failed_notify(payouts=[payout])
        return payout
    first_send = payout.sent_at is None
    _move(payout, State.SENDING, now=now, trigger=trigger, sent_at=now, failure_reason="")
    # The first send is subject <payout>; a Retry after a definite refusal is a new request
    # (UI replays a refused key's answer), still under the same externalId, which UI never
    # pays twice. Unknown outcomes are never retried this way: the outbox re-sends them
    # with their own key after a lookup.
    earlier = 0 if first_send else payment_operations(payout.pk).count()
    operation = outbox_enqueue(
        workspace=payout.workspace, operation=PAYMENT_OPERATION,
        subject=str(payout.pk) if not earlier else f"{payout.pk}:retry:{earlier}",
        study_id=payout.study_id,
        payload=_payment_payload(payout))
    _record(payout, action="sending", actor=actor,
            summary=_sending_summary(payout, trigger),
            data={"trigger": trigger, "operation": str(operation.pk)})
    return payout


@transaction.atomic
def payout_send_now(*, session_id, actor):
    """Send a session's payout now ("Complete & Send payment"), inside the caller's
    transaction. Already sending, sent or paid: nothing more happens."""
    payout = _locked().filter(session_id=session_id).first()
    if payout is None:
        raise PayoutRefused("This session has no incentive to pay.")
    if payout.paid_by_team:
        raise PayoutRefused("This incentive is paid by the team, not through User "
                            "Interviews: mark it as paid once it is.")
    if payout.state != State.NOT_SENT:
        return payout
    return _send_locked(payout, trigger=Trigger.MANUAL, actor=actor, now=clock.now())


def _send_batch_locked(payouts, *, trigger, actor, now):
    """`_send_locked` for payouts of one study never sent yet (rows locked), written
    together: one charge of the study for them all, one update per outcome, one insert of
    the outbox rows and one of the activity entries."""
    if not payouts:
        return
    study_id = payouts[0].study_id
    if any(p.state != State.NOT_SENT or p.study_id != study_id for p in payouts):
        raise ValueError("A batch sends payouts of one study never sent yet.")
    try:
        with transaction.atomic():  # a refused study leaves the rest of a sweep intact
            outcomes = reservation_charge_participants(
                study_id=study_id, session_ids=[p.session_id for p in payouts], actor=actor)
    except ValidationError as error:
        outcomes = {payout.session_id: error for payout in payouts}
    user, label = _actor_fields(actor)
    entries, sending, failed = [], [], {}
    for payout in payouts:
        outcome = outcomes[payout.session_id]
        if isinstance(outcome, ValidationError):
            failed.setdefault(" ".join(outcome.messages)[:2000], []).append(payout)
        else:
            sending.append(payout)
    for reason, refused in failed.items():
        Payout.objects.filter(pk__in=[p.pk for p in refused]).update(
            state=State.FAILED, trigger=trigger, sent_at=now, failure_reason=reason,
            updated_at=now)
        for payout in refused:
            payout.state, payout.trigger, payout.sent_at = State.FAILED, trigger, now
            payout.failure_reason, payout.updated_at = reason, now
            entries.append(_entry(payout, action="failed", user=user, label=label, now=now,
                                  summary=f"Could not send the incentive for "
                                          f"{payout.participant_label}: {reason}"))
        payouts_failed_notify(payouts=refused)
    if sending:
        Payout.objects.filter(pk__in=[p.pk for p in sending]).update(
            state=State.SENDING, trigger=trigger, sent_at=now, failure_reason="",
            updated_at=now)
        operations = outbox_enqueue_many(
            workspace=sending[0].workspace, operation=PAYMENT_OPERATION,
            items=[(str(payout.pk), _payment_payload(payout), payout.study_id)
                   for payout in sending])
        for payout, operation in zip(sending, operations, strict=True):
            payout.state, payout.trigger, payout.sent_at = State.SENDING, trigger, now
            payout.failure_reason, payout.updated_at = "", now
            entries.append(_entry(
                payout, action="sending", user=user, label=label, now=now,
                summary=_sending_summary(payout, trigger),
                data={"trigger": trigger, "operation": str(operation.pk)}))
    ActivityEntry.objects.bulk_create(entries)


def _entry(payout, *, action, summary, user, label, now, data=None):
    """The activity entry `_record` writes, unsaved (a batch inserts them together)."""
    return ActivityEntry(workspace_id=payout.workspace_id, actor=user, actor_label=label,
                         action=f"payout.{action}", summary=ActivityEntry.summary_fitted(summary),
                         study_id=payout.study_id, created_at=now,
                         data={"payout": str(payout.pk), "session": str(payout.session_id),
                               **(data or {})})


def _sending_summary(payout, trigger):
    return (f"Sending the incentive of {money_format(payout.amount)} to "
            f"{payout.participant_label} ({Trigger(trigger).label.lower()})")


def _payment_payload(payout):
    return {"payout_id": str(payout.pk), "session_id": str(payout.session_id),
            "application_id": str(payout.application_id), "study_id": str(payout.study_id)}


def _send_by_study(due, *, trigger, actor, now):
    # Charging takes each study's lock; taking them in one global order means two sweepers
    # with interleaved batches wait for each other but never deadlock.
    by_study = {}
    for payout in sorted(due, key=lambda p: (str(p.study_id), p.due_at)):
        by_study.setdefault(payout.study_id, []).append(payout)
    for payouts in by_study.values():
        _send_batch_locked(payouts, trigger=trigger, actor=actor, now=now)


@transaction.atomic(durable=True)
def payouts_send_due(*, limit=SWEEP_BATCH):
    """One sweep: claim up to `limit` due payouts (SKIP LOCKED, so several sweepers take
    disjoint rows) and send them, a study at a time. Returns the ids sent."""
    now = clock.now()
    due = list(_locked(skip_locked=True).filter(state=State.NOT_SENT, due_at__lte=now,
                                                paid_by_team=False)
               .order_by("due_at")[:limit])
    _send_by_study(due, trigger=Trigger.AUTO_24H, actor=SWEEPER_ACTOR, now=now)
    return [payout.pk for payout in due]


@transaction.atomic
def payouts_settle_study(*, study_id, actor):
    """Closing a study (SPEC B5): its incentives still due are sent now, inside the close's
    transaction and before the unused reservation returns to the budget. Returns the ids."""
    now = clock.now()
    due = list(_locked().filter(study_id=study_id, state=State.NOT_SENT, paid_by_team=False)
               .order_by("due_at"))
    _send_by_study(due, trigger=Trigger.AT_CLOSE, actor=actor, now=now)
    return [payout.pk for payout in due]


def payouts_sweep(*, limit=SWEEP_BATCH, max_batches=50):
    """Send everything due, batch after batch (each its own transaction). Returns how many."""
    total = 0
    for _ in range(max_batches):
        sent = payouts_send_due(limit=limit)
        total += len(sent)
        if len(sent) < limit:
            break
    return total


@transaction.atomic(durable=True)
def payout_retry(*, membership, payout_id):
    """"Retry" a failed payout: sent again with the same key and externalId."""
    require(membership, Permission.REVIEW_APPLICANTS)
    try:
        payout = _locked().get(
            pk=payout_id, workspace_id=membership.workspace_id)
    except (Payout.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error
    if payout.state != State.FAILED or payout.paid_by_team:
        return payout
    return _send_locked(payout, trigger=payout.trigger, actor=membership.user, now=clock.now())


# What UI answered (called by recruitment's `create_payment` handler) ------------------------


def payout_for_operation(payout_id):
    return Payout.objects.get(pk=payout_id)


# No savepoint of its own: nothing catches its errors to go on (a savepoint per recorded
# answer was two of a payout's ~22 statements at the outbox's rate).
@transaction.atomic(savepoint=False)
def payout_record_sent(*, payout_id, ui_payment_id, ui_status, ui_session_id="", actor):
    """UI took the payment. A payment UI reports paid already makes the payout Paid."""
    payout = _locked().get(pk=payout_id)
    now = clock.now()
    if payout.state == State.SENDING:
        _move(payout, State.SENT, now=now, ui_payment_id=ui_payment_id, ui_status=ui_status,
              ui_session_id=ui_session_id or payout.ui_session_id, accepted_at=now)
        _record(payout, action="sent", actor=actor,
                summary=f"User Interviews accepted the incentive for "
                        f"{payout.participant_label}",
                data={"ui_payment_id": ui_payment_id})
    return _status_locked(payout, ui_payment_id=ui_payment_id, ui_status=ui_status,
                          actor=actor, now=now)


#: What UI answers of a payment that ends or settles it: recorded the general way.
SETTLED_STATUSES = ("paid", "failed", "canceled")


def payout_record_accepted(*, payout_id, ui_payment_id, ui_status, ui_session_id="", actor):
    """`payout_record_sent` for UI's usual answer to a payment (taken, not paid or failed
    yet) while the payout is Sending: Sent, with its activity entry, in two statements (the
    update takes the row's lock and returns what the entry names). Returns whether it was
    recorded; when not (another status, or the payout is no longer Sending) nothing
    changed and the caller records it with `payout_record_sent`. Runs in the caller's
    transaction (the outbox row's)."""
    if ui_status in SETTLED_STATUSES:
        return False
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_payout SET state = %s, ui_payment_id = %s, ui_status = %s,"
            " ui_session_id = COALESCE(NULLIF(%s, ''), ui_session_id), accepted_at = %s,"
            " updated_at = %s WHERE id = %s AND state = %s"
            " RETURNING workspace_id, study_id, session_id, participant_label",
            [State.SENT, ui_payment_id, ui_status, ui_session_id, now, now,
             Payout._meta.pk.to_python(payout_id), State.SENDING])
        row = cursor.fetchone()
    if row is None:
        return False
    workspace_id, study_id, session_id, participant_label = row
    payout = Payout(pk=Payout._meta.pk.to_python(payout_id), workspace_id=workspace_id,
                    study_id=study_id, session_id=session_id)
    user, label = _actor_fields(actor)
    _entry(payout, action="sent", user=user, label=label, now=now,
           summary=f"User Interviews accepted the incentive for {participant_label} "
                   f"({ui_payment_id})",
           data={"ui_payment_id": ui_payment_id}).save(force_insert=True)
    return True


def payouts_failed_notify(*, payouts):
    """Tell the people who can retry payments (Admins, Ops Managers) that these failed
    (SPEC N1): counted into one open notification a person, however many fail in a sweep."""
    if not payouts:
        return
    first = payouts[0]
    text = (f"The incentive for {first.participant_label} (“{first.study_name}”) failed: "
            f"{first.failure_reason}")
    notifications.notify_batched(
        workspace=first.workspace_id, kind=notifications.Kind.PAYOUT_FAILED,
        recipients=notifications.workspace_people(first.workspace_id,
                                                  Permission.READ_ALL_BUDGETS),
        group_key=f"payouts_failed:{first.workspace_id}", count=len(payouts), text=text,
        link=reverse("billing:payments"), study_id=first.study_id,
        data={"study": first.study_name})


@transaction.atomic
def payout_record_status(*, payout_id, ui_payment_id, ui_status, reason="", actor):
    """UI's current status of the payment (webhook, poll or the create answer): `paid`
    makes the payout Paid and moves the incentive to paid in the ledger, once; `failed` or
    `canceled` ends it Failed. Replays and late, older news change nothing."""
    return _status_locked(_locked().get(pk=payout_id), ui_payment_id=ui_payment_id,
                          ui_status=ui_status, reason=reason, actor=actor, now=clock.now())


def _status_locked(payout, *, ui_payment_id, ui_status, actor, now, reason=""):
    """`payout_record_status` on a payout already locked by the caller."""
    if ui_status == "paid" and payout.state in (State.SENDING, State.SENT):
        incentive_mark_paid(study_id=payout.study_id, session_id=payout.session_id,
                            payout_id=payout.pk, actor=actor)
        _move(payout, State.PAID, now=now, ui_payment_id=ui_payment_id, ui_status=ui_status,
              confirmed_at=now)
        _record(payout, action="paid", actor=actor,
                summary=f"User Interviews paid the incentive of {money_format(payout.amount)} to "
                        f"{payout.participant_label}",
                data={"ui_payment_id": ui_payment_id})
    elif ui_status in ("failed", "canceled") and payout.state in (State.SENDING, State.SENT):
        message = reason or f"User Interviews reports the payment {ui_status}."
        _move(payout, State.FAILED, now=now, ui_payment_id=ui_payment_id, ui_status=ui_status,
              failure_reason=message[:2000])
        _record(payout, action="failed", actor=actor,
                summary=f"The incentive for {payout.participant_label} failed: {message}")
        _return_failed_incentive(payout, actor=actor)
        payouts_failed_notify(payouts=[payout])
    elif payout.state in (State.SENDING, State.SENT) and ui_status != payout.ui_status:
        Payout.objects.filter(pk=payout.pk).update(ui_status=ui_status, updated_at=now)
    return payout


@transaction.atomic
def payout_record_failed(*, payout_id, reason, actor):
    """UI refused the payment for good (a definite 4xx): Failed, visible, with Retry."""
    payout = _locked().get(pk=payout_id)
    if payout.state != State.SENDING:
        return payout
    _move(payout, State.FAILED, now=clock.now(), failure_reason=reason[:2000])
    _record(payout, action="failed", actor=actor,
            summary=f"User Interviews refused the incentive for {payout.participant_label}: "
                    f"{reason}")
    _return_failed_incentive(payout, actor=actor)
    payouts_failed_notify(payouts=[payout])
    return payout


def _return_failed_incentive(payout, *, actor):
    """SPEC B9: a payout failed for good no longer counts as spent; its incentive goes back
    to the study's hold until Retry charges it again (billing.services)."""
    incentive_return_failed(study_id=payout.study_id, session_id=payout.session_id,
                            payout_id=payout.pk, actor=actor)


@transaction.atomic
def payout_remember_ui_session(*, payout_id, ui_session_id):
    Payout.objects.filter(pk=payout_id).update(ui_session_id=ui_session_id)


def payouts_remember_ui_sessions(ui_sessions):
    """{payout id: UI session id} for many payouts, in one UPDATE (a study's listing at UI
    resolves them all at once). Only payouts still without one take it."""
    if not ui_sessions:
        return 0
    payout_ids, session_ids = zip(*ui_sessions.items(), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_payout SET ui_session_id = found.ui_session_id"
            " FROM unnest(%s::uuid[], %s::text[]) AS found(payout_id, ui_session_id)"
            " WHERE billing_payout.id = found.payout_id AND billing_payout.ui_session_id = ''",
            [list(payout_ids), list(session_ids)])
        return cursor.rowcount

"""Incentive payments at User Interviews: the `create_payment` outbox handler, the
`payment.status_changed` webhook processing and the confirmation poll.

Billing owns the payout rows and their states (billing.payouts); this module only talks to
UI. UI pays under `externalId = payout id` and the outbox row's idempotency key, so a
re-send after an unknown outcome (looked up first) can never pay twice.
"""

import uuid

from celery import shared_task
from django.db import transaction
from django.db.models import OuterRef, Subquery

from billing import payouts
from billing.models import Payout
from participants.models import Application
from participants.services import application_mark_paid
from recruitment import sync
from recruitment.handlers import NotReady, handler
from recruitment.models import Recruitment
from scheduling.models import Session

POLL_BATCH = 500


def _actor(operation):
    return f"task:outbox:{operation.operation}"


def _recruit_id(study_id):
    recruit_id = (Recruitment.objects.filter(study_id=study_id)
                  .values_list("ui_recruit_id", flat=True).first())
    if not recruit_id:
        raise NotReady("The study does not exist at User Interviews yet.")
    return recruit_id


def _ui_sessions_resolve(*, study_id, recruit_id, client):
    """Find the UI session of each of the study's payouts still without one: one listing
    of the recruit's sessions serves them all (matched by applicant and start time)."""
    waiting = list(Payout.objects.filter(
        study_id=study_id, ui_session_id="",
        state__in=[Payout.State.NOT_SENT, Payout.State.SENDING, Payout.State.FAILED])
        .values_list("pk", "session_id", "application_id"))
    if not waiting:
        return
    applicants = dict(Application.objects.filter(pk__in=[w[2] for w in waiting])
                      .values_list("pk", "ui_applicant_id"))
    starts = dict(Session.objects.filter(pk__in=[w[1] for w in waiting])
                  .values_list("pk", "starts_at"))
    at_ui = {}
    for page in client.sessions_pages(recruit_id):
        for ui_session in page.items:
            if ui_session.status != "canceled":
                at_ui[(ui_session.applicant_id, ui_session.starts_at)] = ui_session.id
    found = {payout_id: at_ui.get((applicants.get(application_id), starts.get(session_id)))
             for payout_id, session_id, application_id in waiting}
    payouts.payouts_remember_ui_sessions({payout_id: ui_session_id
                                          for payout_id, ui_session_id in found.items()
                                          if ui_session_id})


def _payment_result(payment, ui_session_id=""):
    return {"payment_id": payment.id, "status": str(payment.status),
            "ui_session_id": ui_session_id or payment.session_id}


def _payouts_with_recruit():
    """Payouts with their study's recruit at UI, in the same read (`study_ui_recruit_id`)."""
    return Payout.objects.annotate(study_ui_recruit_id=Subquery(
        Recruitment.objects.filter(study_id=OuterRef("study_id"))
        .values("ui_recruit_id")[:1]))


@handler("create_payment", label="pay the incentive through User Interviews")
def create_payment(operation, client):
    # The payout and its study's recruit at UI in one read, or the batch's read of them all.
    payout = getattr(operation, "prepared", None) or _payouts_with_recruit().get(
        pk=operation.payload["payout_id"])
    if payout.state in (Payout.State.SENT, Payout.State.PAID):
        return {"payment_id": payout.ui_payment_id, "status": payout.ui_status,
                "ui_session_id": payout.ui_session_id}
    recruit_id = payout.study_ui_recruit_id
    if not recruit_id:
        raise NotReady("The study does not exist at User Interviews yet.")
    if not payout.ui_session_id:
        _ui_sessions_resolve(study_id=payout.study_id, recruit_id=recruit_id, client=client)
        payout.refresh_from_db()
    if not payout.ui_session_id:
        raise NotReady("The session is not at User Interviews yet.")
    payment = client.payment_create(payout.ui_session_id, key=str(operation.idempotency_key),
                                    external_id=str(payout.pk), trigger=payout.ui_trigger)
    return _payment_result(payment, payout.ui_session_id)


@create_payment.prepares
def _payouts_of_batch(operations, client):
    """A batch's payouts with their recruits in one read. Payouts whose UI session is not
    known yet have it found first, one listing per study (what the first of them would do
    on its own), and are read again."""
    ids = [operation.payload["payout_id"] for operation in operations]
    found = {str(payout.pk): payout for payout in _payouts_with_recruit().filter(pk__in=ids)}
    unknown = {payout.study_id: payout.study_ui_recruit_id for payout in found.values()
               if not payout.ui_session_id and payout.study_ui_recruit_id
               and payout.state not in (Payout.State.SENT, Payout.State.PAID)}
    for study_id, recruit_id in unknown.items():
        _ui_sessions_resolve(study_id=study_id, recruit_id=recruit_id, client=client)
    if unknown:
        found = {str(payout.pk): payout
                 for payout in _payouts_with_recruit().filter(pk__in=ids)}
    for operation in operations:
        operation.prepared = found.get(operation.payload["payout_id"])


@create_payment.looks_up
def _find_payment(operation, client):
    payout = payouts.payout_for_operation(operation.payload["payout_id"])
    payment = client.payment_find(_recruit_id(payout.study_id), external_id=str(payout.pk))
    return _payment_result(payment, payout.ui_session_id) if payment else None


@create_payment.applies
def _record_payment(operation, result):
    answer = {"payout_id": operation.payload["payout_id"], "ui_payment_id": result["payment_id"],
              "ui_status": result["status"], "ui_session_id": result.get("ui_session_id") or "",
              "actor": _actor(operation)}
    # UI's usual answer (taken, not paid yet) for a payout still Sending: one update and its
    # activity entry. Anything else goes the general way (locked, paid or failed).
    if not payouts.payout_record_accepted(**answer):
        payout_apply_ui_status(**answer)


@create_payment.fails
def _payment_refused(operation, message):
    latest = payouts.payment_operations(operation.payload["payout_id"]).last()
    if latest is not None and latest.pk != operation.pk:
        return  # an older request (retried by hand) no longer speaks for the payout
    payouts.payout_record_failed(payout_id=operation.payload["payout_id"], reason=message,
                                 actor=_actor(operation))


# Confirmations ------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # nothing catches its errors to go on: no savepoint
def payout_apply_ui_status(*, payout_id, ui_payment_id, ui_status, ui_session_id="", actor):
    """What UI says of a payout's payment (its answer, a webhook or the poll), recorded by
    billing; once the payout is Paid the participant's application is Paid too (SPEC P4), in
    the same transaction. Replays change nothing: both steps only move forward."""
    payout = payouts.payout_record_sent(payout_id=payout_id, ui_payment_id=ui_payment_id,
                                        ui_status=ui_status, ui_session_id=ui_session_id,
                                        actor=actor)
    if payout.state == Payout.State.PAID:
        application_mark_paid(application_id=payout.application_id, actor=actor,
                              payout_id=payout.pk)
    return payout


def _payment_apply(payment, *, actor):
    """UI's news of one payment: the payout named by its externalId follows it."""
    payout = Payout.objects.filter(pk=_uuid_or_none(payment.external_id)).first()
    if payout is None:
        return None
    return payout_apply_ui_status(payout_id=payout.pk, ui_payment_id=payment.id,
                                  ui_status=str(payment.status),
                                  ui_session_id=payment.session_id, actor=actor)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def payment_event_process(event, client):
    resource = event.payload["data"]["resource"]
    recruit_id = resource.get("recruitId")
    if not recruit_id:
        return
    if sync.event_concerns_other_workspace(event, recruit_id):
        return
    payout = Payout.objects.filter(ui_payment_id=resource["id"]).first()
    actor = f"webhook:{event.event_id}"
    if payout is not None:
        payment = client.payment_find(recruit_id, external_id=str(payout.pk))
        if payment is not None:
            _payment_apply(payment, actor=actor)
        return
    # Not recorded yet (the webhook beat the worker): find it among the recruit's payments.
    for page in client.payments_pages(recruit_id):
        for payment in page.items:
            if payment.id == resource["id"]:
                _payment_apply(payment, actor=actor)
                return


def payments_poll(*, client=None, clients=None, limit=POLL_BATCH):
    """The safety net under webhooks: ask UI about every payout sent but not yet
    confirmed, one listing per study, with `client` or each workspace's own from `clients`
    (WorkspaceClients). Returns how many payouts changed state."""
    waiting = list(Payout.objects.filter(state=Payout.State.SENT).order_by("accepted_at")
                   .values_list("pk", "study_id", "workspace_id")[:limit])
    by_study = {}
    workspace_of = {}
    for payout_id, study_id, workspace_id in waiting:
        by_study.setdefault(study_id, set()).add(str(payout_id))
        workspace_of[study_id] = workspace_id
    recruits = dict(Recruitment.objects.filter(study_id__in=by_study)
                    .exclude(ui_recruit_id=None).values_list("study_id", "ui_recruit_id"))
    changed = 0
    for study_id, payout_ids in by_study.items():
        if study_id not in recruits:
            continue
        own = client or clients.get(workspace_of[study_id])
        for page in own.payments_pages(recruits[study_id]):
            for payment in page.items:
                if payment.external_id in payout_ids and str(payment.status) != "pending":
                    # Every payout polled was Sent when listed above.
                    after = _payment_apply(payment, actor="task:payments_poll").state
                    changed += after != Payout.State.SENT
    return changed


@shared_task(name="recruitment.payments_poll", ignore_result=True)
def payments_poll_task():
    """Beat: confirm sent payouts whose webhook was lost."""
    from recruitment.connections import WorkspaceClients

    with WorkspaceClients.background() as clients:
        return payments_poll(clients=clients)

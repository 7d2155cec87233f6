"""The steps of a recruitment that happened in the past, for the seeds that tell one
(demo.recruitment_history, demo.unmoderated_test): "Start Recruitment", an application
arriving from User Interviews, the invitation, the held session and its payout.

Everything that moves money goes through the real services (reserve, schedule, send, record
UI's answers, close), so the ledger, the payouts and the receipt agree exactly as they would
in use and `billing_check` finds nothing. Each step runs as of when it happened
(demo.story). Rows that are only narrative (sessions
already held, outbox rows UI already answered, the Recruitment row UI's launch would have
filled in) are written directly: their use cases call User Interviews or are durable, and the
seed runs in one transaction and sends nothing.
"""

from datetime import timedelta

from billing import payouts
from billing.models import Budget, Reservation
from billing.pricing import recruitment_fee
from billing.services import budget_reserve_for_study
from demo.story import as_of
from demo.workspace import demo_applicant_id
from participants.models import Application, Participant
from rally.models import OutboxOperation
from rally.permissions import Role
from rally.services import activity_record
from recruitment.models import Recruitment
from recruitment.payments import payout_apply_ui_status
from scheduling.models import Session
from scheduling.services import session_payout_schedule
from studies.services import study_mark_recruitment_started

FAILED_REASON = ("User Interviews answered 422 payment_refused: the participant's payout "
                 "details could not be verified.")


def recruitment_started(context, study, *, budget_name, when, state):
    """"Start Recruitment" as it happened `when`: the reservation, the locked audience, the
    Recruitment and the activity entry. None when the study was started before."""
    if Reservation.objects.filter(study_id=study.pk).exists():
        return None
    ops = context.users[Role.OPS_MANAGER]
    budget = Budget.objects.get(workspace=study.workspace, name=budget_name)
    with as_of(when):
        fee = recruitment_fee(audience_type=study.audience_type, study_type=study.study_type)
        budget_reserve_for_study(budget=budget, study_id=study.pk, study_name=study.name,
                                 participation_limit=study.participation_limit, fee=fee,
                                 incentive=study.incentive_amount, actor=ops)
        study_mark_recruitment_started(study=study)
        Recruitment.objects.update_or_create(study=study, defaults={
            "state": state, "start_attempts": 1, "created_at": when, "updated_at": when,
            "last_synced_at": when, "ui_recruit_id": demo_recruit_id(study)})
        activity_record(workspace=study.workspace, actor=ops, action="recruitment.started",
                        study_id=study.pk,
                        summary=f"Started recruitment for “{study.name}” from {budget.name}",
                        data={"budget": str(budget.pk)})
    return budget


def demo_recruit_id(study):
    """The demo study's recruit at User Interviews (the sandbox holds it under this id)."""
    return f"rec_demo_{study.pk.hex[:24]}"


def application_from_ui(study, ui_id, first, initial, *, status, applied):
    participant, _ = Participant.objects.get_or_create(
        workspace=study.workspace, ui_participant_id=ui_id,
        defaults={"first_name": first, "last_initial": initial, "created_at": applied,
                  "updated_at": applied})
    application, _ = Application.objects.get_or_create(
        study=study, participant=participant,
        defaults={"status": status, "ui_applicant_id": demo_applicant_id(study.workspace, ui_id),
                  "applied_at": applied,
                  "created_at": applied, "updated_at": applied})
    return application


def applicant_invited(study, application, *, actor, when):
    with as_of(when):
        activity_record(workspace=study.workspace, actor=actor, study_id=study.pk,
                        action="participants.applicant_invited",
                        summary=f"Invited {application.participant.display_name} for "
                                f"“{study.name}”",
                        data={"application_id": str(application.pk)})


def session_held(study, application, *, ended, status="completed"):
    """A session that took place and ended `ended`, booked a few hours after the
    application (or two days before, whichever came later)."""
    session = application.sessions.filter(status=status).first()
    if session is not None:
        return session
    starts = ended - timedelta(minutes=study.duration_minutes)
    booked = min(max(application.applied_at + timedelta(hours=6), starts - timedelta(days=2)),
                 starts - timedelta(hours=1))
    session = Session.objects.create(
        workspace=study.workspace, study=study, application=application, host=study.owner,
        starts_at=starts, ends_at=ended, status=status,
        meeting_url="https://meet.example.com/acme-research",
        participant_time_zone="America/Chicago", status_changed_at=ended + timedelta(hours=1),
        created_at=booked, updated_at=ended + timedelta(hours=1))
    return session


def payout_story(session, story, *, actor, when):
    """Schedule the session's payout, then take it as far as `story` says, at `when`."""

    with as_of(when):
        payout = session_payout_schedule(session=session, actor=actor)
        if story == "not_sent":
            return payout
        payout = payouts.payout_send_now(session_id=session.pk, actor=actor)
    if story == "sending":
        return payout
    operation = payouts.payment_operations(payout.pk).last()
    answered = when + timedelta(minutes=2)
    ui_payment_id = f"pay_demo_{str(payout.pk)[:8]}"
    with as_of(answered):
        if story == "failed":
            payout = payouts.payout_record_failed(payout_id=payout.pk, reason=FAILED_REASON,
                                                  actor="task:outbox:create_payment")
            OutboxOperation.objects.filter(pk=operation.pk).update(
                status=OutboxOperation.Status.FAILED, attempts=1, last_error=FAILED_REASON,
                completed_at=answered)
            return payout
        payout = payouts.payout_record_sent(
            payout_id=payout.pk, ui_payment_id=ui_payment_id, ui_status="pending",
            actor="task:outbox:create_payment")
        OutboxOperation.objects.filter(pk=operation.pk).update(
            status=OutboxOperation.Status.DONE, attempts=1, completed_at=answered,
            result={"payment_id": ui_payment_id, "status": "pending"})
    if story == "paid":
        with as_of(answered + timedelta(hours=3)):
            payout = payout_apply_ui_status(payout_id=payout.pk, ui_payment_id=ui_payment_id,
                                            ui_status="paid", actor="webhook:demo")
    return payout


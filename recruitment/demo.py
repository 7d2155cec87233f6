"""Demo seed: fill the criteria catalog from the sandbox, and subscribe Rally's webhook
receiver there and keep the secret. Then the money's story (`money.seed`-like, below): the
active interview study started recruiting days ago and its completed sessions have payouts
in every state; the closed clinician study was paid and closed, with its receipt.

Each demo study that recruited through UI has its history (recruit, applicants, sessions,
payments) written at the sandbox too, under the very ids Rally's rows hold
(`recruitment.demo_history`), so paying, retrying, pausing and polling those studies work.

The sandbox is not running while `seed_demo` runs, so the adapter reaches it in-process
(httpx's WSGI transport into Rally's own app, which serves the sandbox in development).
The exchange runs in a thread of its own: the sandbox commits its own transactions, which
cannot nest inside the seed's.
"""

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import connections
from django.urls import reverse

from rally import clock
from rally.demo import demo_applicant_id

logger = logging.getLogger(__name__)


def webhook_url():
    return settings.RALLY_BASE_URL.rstrip("/") + reverse("recruitment:webhook")


def _subscribe(histories=()):
    from rally.wsgi import application
    from recruitment.criteria_catalog import criteria_catalog_sync
    from recruitment.user_interviews.client import UIClient, sandbox_history_put
    from recruitment.webhooks import webhook_endpoint_ensure

    with UIClient.from_settings(transport=httpx.WSGITransport(app=application)) as client:
        criteria_catalog_sync(client=client)
        endpoint = webhook_endpoint_ensure(client=client, url=webhook_url())
        for recruit_id, history in histories:
            sandbox_history_put(client, recruit_id, **history)
        return endpoint


def seed(context):
    recruitment_history_seed(context)
    if not settings.SANDBOX_ENABLED:
        return
    from recruitment.demo_history import sandbox_histories

    # Read from Rally's rows here (the seed's transaction); sent from the thread below.
    histories = sandbox_histories(context.workspace)
    outcome = {}

    def run():
        try:
            outcome["endpoint"] = _subscribe(histories)
        except Exception as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    worker = threading.Thread(target=run, name="demo-webhook-subscription")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    logger.info("webhook subscription %s delivers to %s",
                outcome["endpoint"].ui_subscription_id, outcome["endpoint"].url)


# The money's story ---------------------------------------------------------------------------
#
# Everything that moves money goes through the real services (reserve, schedule, send, record
# UI's answers, close), so the ledger, the payouts and the receipt agree exactly as they would
# in use and `billing_check` finds nothing. The story happened over past days: each step runs
# with Rally's clock (the one function every service reads) set back to when it happened.
# Rows that are only narrative (sessions already held, outbox rows UI already answered) are
# written directly, as the other apps' demos do.

ACTIVE_STUDY = "Developer onboarding interviews"
CLOSED_STUDY = "Clinician workflow interviews"
ACTIVE_BUDGET = "Workspace Budget"
CLOSED_BUDGET = "Q4 Research Budget"

#: The active study's completed sessions: (UI id, first name, initial, ended hours ago,
#: payout story). Priya's session comes from scheduling's demo and Jonah is the participants
#: demo's paid applicant; the others are added here.
ACTIVE_PAYOUTS = [
    ("demo-review-10", "Jonah", "B", 96, "paid"),
    ("demo-sched-1", "Priya", "S", None, "sent"),
    ("demo-pay-1", "Kemal", "D", 30, "sending"),
    ("demo-pay-2", "Lena", "V", 50, "failed"),
    ("demo-pay-3", "Mateo", "G", 3, "not_sent"),
]
FAILED_REASON = ("User Interviews answered 422 payment_refused: the participant's payout "
                 "details could not be verified.")

#: The closed study's participants: (UI id, first name, initial, session days ago, outcome).
CLOSED_SESSIONS = [
    ("demo-review-1", "Amara", "O", 33, "completed"),
    ("demo-clin-1", "Noor", "H", 31, "completed"),
    ("demo-clin-2", "Owen", "P", 29, "completed"),
    ("demo-clin-3", "Petra", "J", 27, "no_show"),
]


@contextmanager
def _as_of(moment):
    """Run the services as if it were `moment` (the seed only: one thread, one transaction)."""
    real_now = clock.now
    clock.now = lambda: moment
    try:
        yield moment
    finally:
        clock.now = real_now


def recruitment_history_seed(context):
    """Idempotent: a study that already has its reservation is left as it is."""
    from studies.models import Status, Study

    workspace = context.workspace
    studies = {study.name: study for study in Study.objects.filter(
        workspace=workspace, is_template=False, name__in=[ACTIVE_STUDY, CLOSED_STUDY])
        .select_related("workspace", "owner")}
    active, closed = studies.get(ACTIVE_STUDY), studies.get(CLOSED_STUDY)
    if active is not None and active.status == Status.ACTIVE:
        _active_study(context, active)
        # Its seats are all taken: Rally has told UI to stop sending applicants (SPEC R6).
        from django.db import transaction

        from participants.services import study_ui_intake_sync

        with transaction.atomic():
            study_ui_intake_sync(study=active)
    if closed is not None and closed.status == Status.CLOSED:
        _closed_study(context, closed)
    # The paused unmoderated test and its completions (recruitment.demo_unmoderated).
    from recruitment.demo_unmoderated import unmoderated_test_seed

    unmoderated_test_seed(context)


def _start(context, study, *, budget_name, when, state):
    """"Start Recruitment" as it happened `when`: the reservation, the locked audience, the
    Recruitment and the activity entry. None when the study was started before."""
    from billing.models import Budget, Reservation
    from billing.pricing import recruitment_fee
    from billing.services import budget_reserve_for_study
    from rally.permissions import Role
    from rally.services import activity_record
    from recruitment.models import Recruitment
    from studies.services import study_mark_recruitment_started

    if Reservation.objects.filter(study_id=study.pk).exists():
        return None
    ops = context.users[Role.OPS_MANAGER]
    budget = Budget.objects.get(workspace=study.workspace, name=budget_name)
    with _as_of(when):
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


def _application(study, ui_id, first, initial, *, status, applied):
    from participants.models import Application, Participant

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


def _invited(study, application, *, actor, when):
    from rally.services import activity_record

    with _as_of(when):
        activity_record(workspace=study.workspace, actor=actor, study_id=study.pk,
                        action="participants.applicant_invited",
                        summary=f"Invited {application.participant.display_name} for "
                                f"“{study.name}”",
                        data={"application_id": str(application.pk)})


def _held_session(study, application, *, ended, status="completed"):
    """A session that took place and ended `ended`, booked a few hours after the
    application (or two days before, whichever came later)."""
    from scheduling.models import Session

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


def _payout_story(session, story, *, actor, when):
    """Schedule the session's payout, then take it as far as `story` says, at `when`."""
    from billing import payouts
    from rally.models import OutboxOperation
    from scheduling.services import session_payout_schedule

    with _as_of(when):
        payout = session_payout_schedule(session=session, actor=actor)
        if story == "not_sent":
            return payout
        payout = payouts.payout_send_now(session_id=session.pk, actor=actor)
    if story == "sending":
        return payout
    operation = payouts.payment_operations(payout.pk).last()
    answered = when + timedelta(minutes=2)
    ui_payment_id = f"pay_demo_{str(payout.pk)[:8]}"
    with _as_of(answered):
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
        from recruitment.payments import payout_apply_ui_status

        with _as_of(answered + timedelta(hours=3)):
            payout = payout_apply_ui_status(payout_id=payout.pk, ui_payment_id=ui_payment_id,
                                            ui_status="paid", actor="webhook:demo")
    return payout


def _active_study(context, study):
    from participants.models import Application
    from rally.permissions import Role

    now = clock.now()
    started = now - timedelta(days=5, hours=2)
    if _start(context, study, budget_name=ACTIVE_BUDGET, when=started,
              state="recruiting") is None:
        return
    researcher = context.users[Role.RESEARCHER]
    for ui_id, first, initial, ended_hours, story in ACTIVE_PAYOUTS:
        if ended_hours is None:  # scheduling's demo held this session already
            application = Application.objects.filter(
                study=study, participant__ui_participant_id=ui_id).first()
            session = (application.sessions.filter(status="completed").first()
                       if application else None)
            if session is None:
                continue
        else:
            ended = now - timedelta(hours=ended_hours)
            application = _application(study, ui_id, first, initial, status="completed",
                                       applied=ended - timedelta(days=2, hours=5))
            if ui_id.startswith("demo-pay-"):
                _invited(study, application, actor=researcher,
                         when=ended - timedelta(days=2, hours=2))
            session = _held_session(study, application, ended=ended)
        # Sent when the host marked it (or, still on its way, a moment ago).
        when = (now - timedelta(minutes=2) if story == "sending"
                else min(session.ends_at + timedelta(minutes=20), now - timedelta(minutes=5)))
        _payout_story(session, story, actor=study.owner, when=when)
    _invitations_told(study, actor=researcher, now=now)


def _invitations_told(study, *, actor, now):
    """Everyone past review on the active study was invited a few hours after applying (the
    other demos set their statuses directly; the activity log tells when)."""
    from participants.models import Application
    from rally.models import ActivityEntry

    told = {str(value) for value in ActivityEntry.objects.filter(
        study_id=study.pk, action="participants.applicant_invited")
        .values_list("data__application_id", flat=True)}
    past_review = Application.objects.filter(study=study).exclude(
        status__in=["applied", "unqualified", "rejected"]).select_related("participant")
    for application in past_review.order_by("applied_at"):
        if str(application.pk) not in told:
            _invited(study, application, actor=actor,
                     when=min(application.applied_at + timedelta(hours=3), now))


def _closed_study(context, study):
    from billing.payouts import payouts_settle_study
    from billing.services import reservation_close
    from participants.models import Application
    from rally.permissions import Role

    now = clock.now()
    closed_at = study.closed_at or now - timedelta(days=10)
    started = (study.published_at or closed_at - timedelta(days=29)) + timedelta(hours=3)
    if _start(context, study, budget_name=CLOSED_BUDGET, when=started,
              state="closed") is None:
        return
    researcher = context.users[Role.RESEARCHER]
    admin = context.users[Role.ADMIN]
    for index, (ui_id, first, initial, days_ago, outcome) in enumerate(CLOSED_SESSIONS):
        ended = now - timedelta(days=days_ago)
        application = _application(study, ui_id, first, initial, status="completed",
                                   applied=started + timedelta(minutes=35 + 20 * index))
        _invited(study, application, actor=researcher, when=ended - timedelta(days=2, hours=1))
        if outcome == "no_show":
            Application.objects.filter(pk=application.pk).update(status="no_show")
            _held_session(study, application, ended=ended, status="no_show")
            continue
        # The paid participant of the participants demo; the others go the whole way here.
        Application.objects.filter(pk=application.pk).update(status="completed")
        application.refresh_from_db()
        session = _held_session(study, application, ended=ended)
        _payout_story(session, "paid", actor=study.owner,
                      when=session.ends_at + timedelta(minutes=15))
    with _as_of(closed_at):
        payouts_settle_study(study_id=study.pk, actor=admin)
        reservation_close(study_id=study.pk, study_name=study.name, actor=admin)

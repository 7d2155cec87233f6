"""The recruitment history of the two demo interview studies that recruited through User
Interviews: the active study started recruiting days ago and its completed sessions have
payouts in every state (its seats are all taken, so Rally has closed UI's intake); the closed
clinician study was paid and closed, with its receipt.

Idempotent: a study that already has its reservation is left as it is.
"""

from datetime import timedelta

from django.db import transaction

from billing.payouts import payouts_settle_study
from billing.services import reservation_close
from demo.recruiting import (
    applicant_invited,
    application_from_ui,
    payout_story,
    recruitment_started,
    session_held,
)
from demo.story import as_of
from demo.studies import ACTIVE_STUDY, CLOSED_STUDY
from participants.models import Application
from participants.services import study_ui_intake_sync
from rally import clock
from rally.models import ActivityEntry
from rally.permissions import Role
from studies.models import Status, Study

ACTIVE_BUDGET = "Workspace Budget"
CLOSED_BUDGET = "Q4 Research Budget"

#: The active study's completed sessions: (UI id, first name, initial, ended hours ago,
#: payout story). Priya's session comes from demo.sessions and Jonah is demo.applicants'
#: paid applicant; the others are added here.
ACTIVE_PAYOUTS = [
    ("demo-review-10", "Jonah", "B", 96, "paid"),
    ("demo-sched-1", "Priya", "S", None, "sent"),
    ("demo-pay-1", "Kemal", "D", 30, "sending"),
    ("demo-pay-2", "Lena", "V", 50, "failed"),
    ("demo-pay-3", "Mateo", "G", 3, "not_sent"),
]

#: The closed study's participants: (UI id, first name, initial, session days ago, outcome).
CLOSED_SESSIONS = [
    ("demo-review-1", "Amara", "O", 33, "completed"),
    ("demo-clin-1", "Noor", "H", 31, "completed"),
    ("demo-clin-2", "Owen", "P", 29, "completed"),
    ("demo-clin-3", "Petra", "J", 27, "no_show"),
]


def seed(context):
    workspace = context.workspace
    studies = {study.name: study for study in Study.objects.filter(
        workspace=workspace, is_template=False, name__in=[ACTIVE_STUDY, CLOSED_STUDY])
        .select_related("workspace", "owner")}
    active, closed = studies.get(ACTIVE_STUDY), studies.get(CLOSED_STUDY)
    if active is not None and active.status == Status.ACTIVE:
        _active_study(context, active)
        # Its seats are all taken: Rally has told UI to stop sending applicants (SPEC R6).
        with transaction.atomic():
            study_ui_intake_sync(study=active)
    if closed is not None and closed.status == Status.CLOSED:
        _closed_study(context, closed)


def _active_study(context, study):
    now = clock.now()
    started = now - timedelta(days=5, hours=2)
    if recruitment_started(context, study, budget_name=ACTIVE_BUDGET, when=started,
                           state="recruiting") is None:
        return
    researcher = context.users[Role.RESEARCHER]
    for ui_id, first, initial, ended_hours, story in ACTIVE_PAYOUTS:
        if ended_hours is None:  # demo.sessions held this session already
            application = Application.objects.filter(
                study=study, participant__ui_participant_id=ui_id).first()
            session = (application.sessions.filter(status="completed").first()
                       if application else None)
            if session is None:
                continue
        else:
            ended = now - timedelta(hours=ended_hours)
            application = application_from_ui(study, ui_id, first, initial,
                                              status="completed",
                                              applied=ended - timedelta(days=2, hours=5))
            if ui_id.startswith("demo-pay-"):
                applicant_invited(study, application, actor=researcher,
                                  when=ended - timedelta(days=2, hours=2))
            session = session_held(study, application, ended=ended)
        # Sent when the host marked it (or, still on its way, a moment ago).
        when = (now - timedelta(minutes=2) if story == "sending"
                else min(session.ends_at + timedelta(minutes=20), now - timedelta(minutes=5)))
        payout_story(session, story, actor=study.owner, when=when)
    _invitations_told(study, actor=researcher, now=now)


def _invitations_told(study, *, actor, now):
    """Everyone past review on the active study was invited a few hours after applying (the
    other seeds set their statuses directly; the activity log tells when)."""
    told = {str(value) for value in ActivityEntry.objects.filter(
        study_id=study.pk, action="participants.applicant_invited")
        .values_list("data__application_id", flat=True)}
    past_review = Application.objects.filter(study=study).exclude(
        status__in=["applied", "unqualified", "rejected"]).select_related("participant")
    for application in past_review.order_by("applied_at"):
        if str(application.pk) not in told:
            applicant_invited(study, application, actor=actor,
                              when=min(application.applied_at + timedelta(hours=3), now))


def _closed_study(context, study):
    now = clock.now()
    closed_at = study.closed_at or now - timedelta(days=10)
    started = (study.published_at or closed_at - timedelta(days=29)) + timedelta(hours=3)
    if recruitment_started(context, study, budget_name=CLOSED_BUDGET, when=started,
                           state="closed") is None:
        return
    researcher = context.users[Role.RESEARCHER]
    admin = context.users[Role.ADMIN]
    for index, (ui_id, first, initial, days_ago, outcome) in enumerate(CLOSED_SESSIONS):
        ended = now - timedelta(days=days_ago)
        application = application_from_ui(study, ui_id, first, initial, status="completed",
                                          applied=started + timedelta(minutes=35 + 20 * index))
        applicant_invited(study, application, actor=researcher,
                          when=ended - timedelta(days=2, hours=1))
        if outcome == "no_show":
            Application.objects.filter(pk=application.pk).update(status="no_show")
            session_held(study, application, ended=ended, status="no_show")
            continue
        # Amara is demo.applicants' returning participant; the others go the whole way here.
        Application.objects.filter(pk=application.pk).update(status="completed")
        application.refresh_from_db()
        session = session_held(study, application, ended=ended)
        payout_story(session, "paid", actor=study.owner,
                     when=session.ends_at + timedelta(minutes=15))
    with as_of(closed_at):
        payouts_settle_study(study_id=study.pk, actor=admin)
        reservation_close(study_id=study.pk, study_name=study.name, actor=admin)


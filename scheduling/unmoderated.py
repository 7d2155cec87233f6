"""Unmoderated Test completions (SPEC T2): a participant who submitted the test at User
Interviews gets a Completed session without a host or a booking.

That session is the one record the payout path already reads: its incentive is due 24 hours
after the submission (billing.payouts, SPEC I2), "Complete & Send payment" sends it at once
(I1), and the ledger charges one fee and one incentive per session (B4).
"""

from datetime import timedelta

from django.db import transaction

from billing.models import Payout
from billing.payouts import payout_remember_ui_session
from participants.models import Application
from rally import clock
from rally.services import activity_record, outbox_enqueue
from scheduling.models import Session
from scheduling.services import session_payout_schedule
from studies.models import StudyType

#: The outbox operation that moves UI's session from scheduled (submitted) to completed.
COMPLETE_TEST_OPERATION = "complete_test_session"
#: Rally statuses of an application whose test counts as done.
DONE_STATUSES = (Application.Status.COMPLETED, Application.Status.PAID)


def unmoderated_completion_of(application_id):
    """The application's test completion, or None."""
    return Session.objects.filter(application_id=application_id, host__isnull=True).first()


@transaction.atomic(durable=True)
def unmoderated_completion_record(*, application_id, completed_at, started_at=None,
                                  ui_session_id="", ui_status="", actor_label):
    """Record that the participant of `application_id` finished the test at `completed_at`.

    Idempotent: the application is locked and has at most one completion (a unique index
    settles the rest), so duplicate webhooks and the poller record it once. Returns the
    session, or None when the application is not a finished test (not unmoderated, or not
    Completed in Rally, e.g. rejected).
    """
    application = (Application.objects.select_for_update(of=("self",))
                   .select_related("study", "study__workspace", "participant")
                   .filter(pk=application_id).first())
    if application is None or application.study.study_type != StudyType.UNMODERATED_TEST:
        return None
    study = application.study
    session = unmoderated_completion_of(application.pk)
    if session is None:
        if application.status not in DONE_STATUSES:
            return None
        now = clock.now()
        duration = timedelta(minutes=study.duration_minutes)
        starts_at = started_at if started_at and started_at < completed_at else (
            completed_at - duration)
        session = Session.objects.create(
            workspace_id=study.workspace_id, study=study, application=application, host=None,
            starts_at=starts_at, ends_at=completed_at, status=Session.Status.COMPLETED,
            # No calendar: nothing for the invite sweeper to send.
            sequence=0, invite_sequence_sent=0, status_changed_at=now,
            created_at=now, updated_at=now)
        name = application.participant.display_name
        activity_record(workspace=study.workspace, actor_label=actor_label,
                        action="session.test_completed", study_id=study.id,
                        summary=f"{name} completed the test "
                                f"(incentive due 24 hours later)",
                        data={"session": str(session.pk),
                              "completed_at": completed_at.isoformat(),
                              "ui_session": ui_session_id})
        if study.is_user_interviews and ui_session_id and ui_status == "scheduled":
            # UI reports the submission; Rally's completion moves it to completed there.
            outbox_enqueue(workspace=study.workspace, operation=COMPLETE_TEST_OPERATION,
                           subject=str(session.pk), study_id=study.id,
                           payload={"session_id": str(session.pk),
                                    "application_id": str(application.pk),
                                    "study_id": str(study.id),
                                    "ui_session_id": ui_session_id})
    session.study = study
    session.application = application
    payout = session_payout_schedule(session=session, actor=actor_label)
    if payout is not None and ui_session_id and not payout.ui_session_id:
        payout_remember_ui_session(payout_id=payout.pk, ui_session_id=ui_session_id)
    return session


def unmoderated_completions_missing(*, study):
    """Ids of the study's finished applications (Rally status Completed or Paid) that have
    no completion recorded yet, with their UI applicant ids: {ui applicant id: pk}."""
    if study.study_type != StudyType.UNMODERATED_TEST:
        return {}
    recorded = Session.objects.filter(study=study, host__isnull=True).values("application_id")
    return dict(Application.objects.filter(study=study, status__in=DONE_STATUSES,
                                           ui_applicant_id__isnull=False)
                .exclude(pk__in=recorded).values_list("ui_applicant_id", "pk"))


def completion_profile_panel(request, study, application):
    """Study page profile panel: an Unmoderated Test participant's completion (when
    they submitted the test) and the state of its incentive payment, or that the invited
    participant has not submitted yet. Nothing for other studies or applicants. Two queries."""
    if study.study_type != StudyType.UNMODERATED_TEST:
        return None
    session = unmoderated_completion_of(application.pk)
    if session is None and application.status != Application.Status.INVITED:
        return None
    payout = None if session is None else Payout.objects.filter(session_id=session.pk).first()
    return "scheduling/profile_test_completion.html", {"completion": session, "payout": payout}

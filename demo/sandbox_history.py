"""The demo's User Interviews history, as the sandbox must hold it.

The demo seeds write Rally's side of studies that recruited through UI (recruit ids,
applicant ids, sessions, payments) without ever talking to UI. This reads those rows back
and describes the same history in UI's words, under the same ids, for the sandbox's history
control (`sandbox_history_put`): then the demo's "Complete & Send payment", the payout on its
way, "Retry" of the failed one, pausing or closing a study, and the polls all meet a UI
that knows what Rally knows.

What the sandbox gets, per study: the recruit in the recruitment's state; every applicant
in UI's status for the application's (Paid is UI's `completed`: paying is Rally's word);
every session; and a payment for each payout UI took (Sent or Paid). A payout not sent, on
its way (Sending) or refused (Failed) has no payment there: its outbox request makes one.
"""

from decimal import Decimal

from billing.models import Payout
from billing.payouts import payouts_remember_ui_sessions
from demo.recruiting import demo_recruit_id
from demo.studies import ACTIVE_STUDY, CLOSED_STUDY, UNMODERATED_STUDY
from participants.models import Application
from participants.services import INTAKE_OPERATION
from rally.models import OutboxOperation
from recruitment.models import Recruitment
from recruitment.user_interviews.client import ui_study_type
from scheduling.models import Session
from studies.models import Study
from studies.selectors import study_audience_payload

DEMO_STUDIES = (ACTIVE_STUDY, CLOSED_STUDY, UNMODERATED_STUDY)
#: Recruitment states whose recruit UI holds (launched and past its review).
AT_UI = {"recruiting": "recruiting", "filled": "filled", "paused": "paused",
         "closed": "closed"}
APPLICANT_STATUS = {
    Application.Status.APPLIED: "applied",
    Application.Status.UNQUALIFIED: "applied",  # UI: applied, with unmet criteria
    Application.Status.INVITED: "approved",
    Application.Status.REJECTED: "rejected",
    Application.Status.SCHEDULED: "scheduled",
    Application.Status.COMPLETED: "completed",
    Application.Status.NO_SHOW: "no_show",
    Application.Status.CANCELED: "canceled",
    Application.Status.PAID: "completed",
}
SOURCE = {Application.Source.USER_INTERVIEWS: "panel",
          Application.Source.DIRECT_LINK: "direct_link"}
SESSION_STATUS = {Session.Status.UPCOMING: "scheduled", Session.Status.COMPLETED: "completed",
                  Session.Status.NO_SHOW: "no_show", Session.Status.CANCELED: "canceled"}
UI_PAYMENT_STATUSES = ("pending", "processing")


def demo_session_id(session):
    """The UI session of a demo session (the sandbox holds it under this id)."""
    return f"ses_demo_{session.pk.hex[:24]}"


def _cents(amount):
    return int((Decimal(amount or 0) * 100).to_integral_value())


def _payment_status(payout):
    if payout.state == Payout.State.PAID:
        return "paid"
    if payout.state == Payout.State.SENT:
        return payout.ui_status if payout.ui_status in UI_PAYMENT_STATUSES else "pending"
    return {Payout.State.FAILED: "failed", Payout.State.CANCELED: "canceled"}[payout.state]


def sandbox_histories(workspace):
    """[(recruit id, history)] for each demo study of `workspace` that UI holds.

    Fills in what older seeds left out (the recruit id; each payout's UI session), so the
    ids sent are exactly those on Rally's rows.
    """
    out = []
    studies = Study.objects.filter(workspace=workspace, is_template=False,
                                   name__in=DEMO_STUDIES, recruitment__isnull=False)
    for study in studies.order_by("name"):
        recruitment = Recruitment.objects.get(study=study)
        if recruitment.state not in AT_UI:
            continue
        if not recruitment.ui_recruit_id:
            Recruitment.objects.filter(pk=recruitment.pk).update(
                ui_recruit_id=demo_recruit_id(study))
            recruitment.refresh_from_db()
        out.append((recruitment.ui_recruit_id, _history(study, recruitment)))
    return out


def _history(study, recruitment):
    applications = list(Application.objects.filter(study=study, ui_applicant_id__isnull=False)
                        .exclude(ui_applicant_id="").select_related("participant")
                        .order_by("applied_at", "pk"))
    by_id = {application.pk: application for application in applications}
    sessions = list(Session.objects.filter(study=study, application_id__in=by_id)
                    .order_by("starts_at", "pk"))
    session_ids = {session.pk: demo_session_id(session) for session in sessions}
    payouts = list(Payout.objects.filter(study_id=study.pk, session_id__in=session_ids))
    payouts_remember_ui_sessions({payout.pk: session_ids[payout.session_id]
                                  for payout in payouts})
    intake_open = _intake_open(study)
    status = AT_UI[recruitment.state]
    if status == "recruiting" and not intake_open:
        status = "filled"  # UI fills a recruit whose intake Rally closed (SPEC R6)
    return {
        "recruit": {
            "externalId": str(study.pk), "internalName": study.name[:200],
            "studyType": ui_study_type(study.study_type),
            "status": status,
            "numParticipants": min(max(study.participation_limit or 1, 1), 1000),
            "durationMinutes": min(max(study.duration_minutes, 5), 480),
            "compensationCents": _cents(study.incentive_amount),
            "audience": study_audience_payload(study),
            # Rally closed UI's intake when its seats filled (SPEC R6): the same at UI.
            "intakeOpen": intake_open,
        },
        "applicants": [_applicant(application) for application in applications],
        "sessions": [{
            "id": session_ids[session.pk],
            "applicantId": by_id[session.application_id].ui_applicant_id,
            "startsAt": session.starts_at, "endsAt": session.ends_at,
            "status": SESSION_STATUS[session.status],
        } for session in sessions],
        "payments": [{
            "id": payout.ui_payment_id, "sessionId": session_ids[payout.session_id],
            "externalId": str(payout.pk), "amountCents": _cents(payout.amount),
            "status": _payment_status(payout), "trigger": payout.ui_trigger,
        } for payout in payouts if payout.ui_payment_id],
    }


def _intake_open(study):
    """What Rally last told UI about the study's intake (open unless it said closed)."""
    told = (OutboxOperation.objects.filter(study_id=study.pk, operation=INTAKE_OPERATION)
            .order_by("-payload__change").values_list("payload", flat=True).first())
    return True if told is None else bool(told["open"])


def _applicant(application):
    participant = application.participant
    unqualified = application.status == Application.Status.UNQUALIFIED
    return {
        "id": application.ui_applicant_id, "participantId": participant.ui_participant_id,
        "firstName": participant.first_name[:100] or "Participant",
        "lastInitial": (participant.last_initial or "X")[:1],
        "status": APPLICANT_STATUS[application.status],
        "source": SOURCE.get(application.source, "panel"),
        "qualification": "unqualified" if unqualified else (
            application.qualification or "manual_review"),
        "appliedAt": application.applied_at,
        # No newer than Rally's copy: a poll finds nothing to change.
        "updatedAt": application.ui_updated_at or application.applied_at,
        "screenerVersion": application.screener_version or 1,
        "screenerResponses": list(application.screener_responses or []),
        "matchedCriteria": list(application.matched_criteria or []),
        "unmetCriteria": list(application.unmet_criteria or []),
    }

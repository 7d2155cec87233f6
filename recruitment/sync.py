"""Bringing User Interviews' state into Rally: recruits, applicants, webhook events, polling.

Every apply is an upsert keyed by UI's id and guarded by UI's `updatedAt`, so webhooks
(fast path) and the poller (safety net) can deliver the same news in any order, any
number of times, and leave the same rows.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse

from billing.services import ui_billing_summary_record
from participants.models import Application
from participants.services import ApplicantRecord, applications_upsert_from_ui
from rally import clock, notifications
from rally.models import ActivityEntry
from rally.permissions import Permission
from rally.services import activity_record
from recruitment import workflows
from recruitment.models import Recruitment, WebhookEvent
from recruitment.user_interviews.resources import (
    ApplicantSource,
    ApplicantStatus,
    Qualification,
    RecruitStatus,
)
from studies.models import Study
from studies.selectors import study_people

logger = logging.getLogger(__name__)

#: The poller asks for changes since its last run minus this, so clock skew and changes
#: committed while it ran are never missed (upserts make the overlap harmless).
POLL_SAFETY_MARGIN = timedelta(minutes=5)
POLL_LEASE = timedelta(minutes=5)
#: A webhook names a changed applicant; the poll window around the event's time.
EVENT_WINDOW = timedelta(minutes=2)
PAGE_SIZE = 200

State = Recruitment.State

STATE_FOR_UI = {
    RecruitStatus.DRAFT: State.STARTING,
    RecruitStatus.PENDING_REVIEW: State.PENDING_REVIEW,
    RecruitStatus.RECRUITING: State.RECRUITING,
    RecruitStatus.FILLED: State.FILLED,
    RecruitStatus.PAUSED: State.PAUSED,
    RecruitStatus.DECLINED: State.DECLINED,
    RecruitStatus.CLOSED: State.CLOSED,
}

STATE_SUMMARIES = {
    State.STARTING: "Created the study at User Interviews",
    State.PENDING_REVIEW: "User Interviews is reviewing the study",
    State.RECRUITING: "Recruiting at User Interviews",
    State.FILLED: "All seats are taken at User Interviews",
    State.PAUSED: "Recruitment paused at User Interviews",
    State.DECLINED: "User Interviews declined the study",
    State.FAILED: "Recruitment at User Interviews failed to start",
    State.CLOSED: "Recruitment closed at User Interviews",
}

# Recruits -----------------------------------------------------------------------------------


def recruit_result(recruit):
    """The JSON the outbox stores for a recruit UI returned (and `recruitment_apply_recruit`
    reads)."""
    return {
        "recruit_id": recruit.id,
        "status": recruit.status.value,
        "application_url": recruit.application_url or "",
        "declined_reason": recruit.declined_reason or "",
        "updated_at": recruit.updated_at.isoformat(),
        # UI's closing account, once the recruit is closed (compared with Rally's, B7).
        "billing": None if recruit.billing is None else {
            "completed_sessions": recruit.billing.completed_sessions,
            "incentives_cents": int(recruit.billing.incentives * 100),
            "paid_payments": recruit.billing.paid_payments},
    }


def _change_state(recruitment, new, *, actor_label, reason=""):
    old = recruitment.state
    if new == old or not recruitment.can_become(new):
        return False
    recruitment.state = new
    summary = STATE_SUMMARIES[new] + (f": {reason}" if reason else "")
    activity_record(workspace=recruitment.study.workspace, actor_label=actor_label,
                    action=f"recruitment.{new}", study_id=recruitment.study_id,
                    summary=summary, data={"from": old, "to": new})
    if new in (State.DECLINED, State.FAILED):
        workflows.recruitment_end(recruitment=recruitment, actor_label=actor_label)
    _state_notify(recruitment, old=old, new=new, reason=reason)
    return True


def _state_notify(recruitment, *, old, new, reason):
    """Launched, declined or failed: the team and whoever started it hear (SPEC N1)."""
    study = recruitment.study
    if new == State.RECRUITING and old in (State.STARTING, State.PENDING_REVIEW):
        kind, text = (notifications.Kind.RECRUITMENT_LAUNCHED,
                      f"“{study.name}” is recruiting at User Interviews")
    elif new in (State.DECLINED, State.FAILED):
        what = ("User Interviews declined “{}”" if new == State.DECLINED
                else "Recruitment for “{}” could not start").format(study.name)
        kind, text = notifications.Kind.RECRUITMENT_DECLINED, what + (
            f": {reason}" if reason else "")
    else:
        return
    starter = (ActivityEntry.objects.filter(study_id=study.pk, action="recruitment.started")
               .order_by("-created_at").values_list("actor_id", flat=True).first())
    notifications.notify(
        workspace=study.workspace_id, kind=kind, study_id=study.pk,
        recipients=[*study_people(study, permission=Permission.VIEW, team_only=True), starter],
        text=text, link=reverse("studies:study_overview", args=[study.pk]),
        data={"study": study.name})


def _recruitment_locked(**lookup):
    """A study's recruitment, locked in the order "Start Recruitment" takes (see
    recruitment.orchestration): the study row first, then the recruitment row, each alone.
    Locking the recruitment first (or both in one joined statement) while a start holds
    the study and waits for the recruitment is how two transactions deadlock."""
    study_id = Recruitment.objects.filter(**lookup).values_list("study_id", flat=True).first()
    if study_id is None:
        return None
    list(Study.objects.select_for_update(of=("self",)).filter(pk=study_id)
         .values_list("pk", flat=True))
    return (Recruitment.objects.select_for_update(of=("self",))
            .select_related("study__workspace").filter(**lookup).filter(study_id=study_id)
            .first())


@transaction.atomic
def recruitment_apply_recruit(*, result, actor_label, study_id=None, adopt=False):
    """Apply a recruit as UI last described it (by study, or by UI's recruit id).

    A description no newer than the one applied last changes nothing (the same snapshot
    twice, or an older one arriving late). `adopt` (the create step of a start) makes this
    recruit the study's, replacing an earlier declined or failed one. Returns the
    recruitment, or None when Rally has none for this recruit.
    """
    if study_id is not None:
        recruitment = _recruitment_locked(study_id=study_id)
    else:
        recruitment = _recruitment_locked(ui_recruit_id=result["recruit_id"])
    if recruitment is None:
        return None
    if adopt and recruitment.ui_recruit_id != result["recruit_id"]:
        recruitment.ui_recruit_id = result["recruit_id"]
        recruitment.ui_updated_at = None
        recruitment.application_url = ""
    if recruitment.ui_recruit_id and recruitment.ui_recruit_id != result["recruit_id"]:
        logger.warning("recruit %s is not the one of study %s", result["recruit_id"],
                       recruitment.study_id)
        return recruitment
    updated_at = datetime.fromisoformat(result["updated_at"])
    now = clock.now()
    recruitment.last_synced_at = now
    if recruitment.ui_updated_at is None or updated_at > recruitment.ui_updated_at:
        recruitment.ui_recruit_id = result["recruit_id"]
        recruitment.application_url = result["application_url"] or recruitment.application_url
        recruitment.declined_reason = result["declined_reason"]
        recruitment.ui_updated_at = updated_at
        _change_state(recruitment, STATE_FOR_UI[RecruitStatus(result["status"])],
                      actor_label=actor_label, reason=result["declined_reason"])
    recruitment.updated_at = now
    recruitment.save()
    if result.get("billing"):
        _billing_summary_record(recruitment, result["billing"], actor_label)
    return recruitment


def _billing_summary_record(recruitment, billing, actor_label):
    """UI's closing billing summary, kept for the comparison with Rally's (SPEC B7)."""
    ui_billing_summary_record(
        workspace=recruitment.study.workspace, study_id=recruitment.study_id,
        completed_sessions=int(billing["completed_sessions"]),
        incentives=(Decimal(int(billing["incentives_cents"])) / 100).quantize(Decimal("0.01")),
        paid_payments=int(billing["paid_payments"]), actor=actor_label)


@transaction.atomic
def recruitment_mark_failed(*, study_id, reason, actor_label):
    """The hand-off to UI finally failed: say why on the study (SPEC R2)."""
    recruitment = _recruitment_locked(study_id=study_id)
    if recruitment is None:
        return None
    recruitment.failure_reason = reason[:2000]
    _change_state(recruitment, State.FAILED, actor_label=actor_label, reason=reason[:200])
    recruitment.updated_at = clock.now()
    recruitment.save()
    return recruitment


# Applicants ---------------------------------------------------------------------------------

_STATUS_FOR_UI = {
    ApplicantStatus.APPLIED: Application.Status.APPLIED,
    ApplicantStatus.APPROVED: Application.Status.INVITED,
    ApplicantStatus.REJECTED: Application.Status.REJECTED,
    ApplicantStatus.SCHEDULED: Application.Status.SCHEDULED,
    # An unmoderated participant's submission completes the test (SPEC T2).
    ApplicantStatus.SUBMITTED: Application.Status.COMPLETED,
    ApplicantStatus.COMPLETED: Application.Status.COMPLETED,
    ApplicantStatus.NO_SHOW: Application.Status.NO_SHOW,
    ApplicantStatus.CANCELED: Application.Status.CANCELED,
    ApplicantStatus.WITHDRAWN: Application.Status.CANCELED,
}
_SOURCE_FOR_UI = {
    ApplicantSource.PANEL: Application.Source.USER_INTERVIEWS,
    ApplicantSource.DIRECT_LINK: Application.Source.DIRECT_LINK,
}


def applicant_record(applicant):
    """A UI applicant (typed resource) in Rally's vocabulary."""
    status = _STATUS_FOR_UI[applicant.status]
    if (applicant.status == ApplicantStatus.APPLIED
            and applicant.qualification == Qualification.UNQUALIFIED):
        status = Application.Status.UNQUALIFIED  # direct-link applicant missing criteria (R5)
    return ApplicantRecord(
        ui_applicant_id=applicant.id,
        ui_participant_id=applicant.participant.id,
        first_name=applicant.participant.first_name,
        last_initial=applicant.participant.last_initial,
        status=status,
        source=_SOURCE_FOR_UI[applicant.source],
        qualification=applicant.qualification.value,
        applied_at=applicant.applied_at,
        ui_updated_at=applicant.updated_at,
        screener_version=applicant.screener_version,
        screener_responses=[response.as_dict() for response in applicant.screener_responses],
        matched_criteria=[match.as_dict() for match in applicant.matched_criteria],
        unmet_criteria=[match.as_dict() for match in applicant.unmet_criteria],
    )


def applicant_document(applicant):
    """An applicant's record as JSON (stored as an outbox result)."""
    record = applicant_record(applicant)
    document = dict(record.__dict__)
    document["applied_at"] = record.applied_at.isoformat()
    document["ui_updated_at"] = record.ui_updated_at.isoformat()
    return document


def applicant_record_from_document(document):
    values = dict(document)
    values["applied_at"] = datetime.fromisoformat(values["applied_at"])
    values["ui_updated_at"] = datetime.fromisoformat(values["ui_updated_at"])
    return ApplicantRecord(**values)


def _applicants_synced(recruitment, client, actor_label):
    """After a recruitment's applicants were synced (poll or webhook), outside any
    transaction: Unmoderated Test completions read UI's sessions of those who submitted."""
    # Imported here: recruitment.unmoderated builds its outbox handler with
    # recruitment.handlers, which imports this module.
    from recruitment.unmoderated import unmoderated_completions_sync

    unmoderated_completions_sync(study=recruitment.study, recruit_id=recruitment.ui_recruit_id,
                                 client=client, actor_label=actor_label)


def applicants_sync(*, study, recruit_id, client, updated_since=None):
    """Upsert the recruit's applicants changed since `updated_since` (all when None).

    Pages stream from UI straight into bulk upserts; nothing holds every applicant.
    Returns how many were read.
    """
    records = (applicant_record(applicant)
               for page in client.applicants_pages(recruit_id, updated_since=updated_since,
                                                   page_size=PAGE_SIZE)
               for applicant in page.items)
    return applications_upsert_from_ui(study=study, items=records)


# The poller ---------------------------------------------------------------------------------


def _claim_for_poll(recruitment_id, now):
    return Recruitment.objects.filter(
        Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lte=now),
        pk=recruitment_id,
    ).update(poll_claimed_until=now + POLL_LEASE)


def recruitment_poll(*, recruitment_id, client):
    """Sync one recruitment from UI: the recruit, then its applicants changed since the
    cursor (minus a margin); then advance the cursor. False when another poller has it."""
    started = clock.now()
    if not _claim_for_poll(recruitment_id, started):
        return False
    try:
        recruitment = Recruitment.objects.select_related("study").get(pk=recruitment_id)
        since = (recruitment.updated_since - POLL_SAFETY_MARGIN
                 if recruitment.updated_since else None)
        recruit = client.recruit_get(recruitment.ui_recruit_id)
        recruitment_apply_recruit(result=recruit_result(recruit), actor_label="task:poller")
        applicants_sync(study=recruitment.study, recruit_id=recruitment.ui_recruit_id,
                        client=client, updated_since=since)
        _applicants_synced(recruitment, client, "task:poller")
        Recruitment.objects.filter(pk=recruitment_id).update(
            updated_since=started, last_synced_at=clock.now(), poll_claimed_until=None)
    except BaseException:
        Recruitment.objects.filter(pk=recruitment_id).update(poll_claimed_until=None)
        raise
    return True


def recruitments_to_poll():
    return list(Recruitment.objects.filter(state__in=Recruitment.LIVE_STATES,
                                           ui_recruit_id__isnull=False)
                .order_by(F("last_synced_at").asc(nulls_first=True))
                .values_list("pk", flat=True))


def recruitments_poll_all(*, client=None, clients=None):
    """One poll round over every live recruitment; one failing does not stop the others.
    Each is polled with `client`, or its workspace's own from `clients` (WorkspaceClients)."""
    polled = failed = 0
    due = recruitments_to_poll()
    workspaces = {} if client is not None else dict(
        Recruitment.objects.filter(pk__in=due).values_list("pk", "study__workspace_id"))
    for recruitment_id in due:
        try:
            own = client or clients.get(workspaces.get(recruitment_id))
            polled += bool(recruitment_poll(recruitment_id=recruitment_id, client=own))
        except Exception:
            failed += 1
            logger.exception("polling recruitment %s failed", recruitment_id)
    return {"polled": polled, "failed": failed}


# Webhook events -----------------------------------------------------------------------------

def _resource(event):
    return event.payload["data"]["resource"]


def event_concerns_other_workspace(event, recruit_id):
    """An event that arrived at one workspace's receiver about a recruit another workspace
    holds is not that workspace's to act on (each account's events name its own recruits)."""
    # An event replayed from elsewhere (a stand-in with only its payload) names no receiver.
    workspace_id = getattr(event, "workspace_id", None)
    if workspace_id is None or not recruit_id:
        return False
    return Recruitment.objects.filter(ui_recruit_id=recruit_id).exclude(
        study__workspace_id=workspace_id).exists()


def recruit_event_process(event, client):
    if event_concerns_other_workspace(event, _resource(event)["id"]):
        return
    recruit = client.recruit_get(_resource(event)["id"])
    recruitment_apply_recruit(result=recruit_result(recruit),
                              actor_label=f"webhook:{event.event_id}")


def applicant_event_process(event, client):
    resource = _resource(event)
    recruitment = (Recruitment.objects.select_related("study")
                   .filter(ui_recruit_id=resource.get("recruitId")).first())
    if recruitment is None or event_concerns_other_workspace(event, resource.get("recruitId")):
        return
    # UI has no single-applicant read: ask for the recruit's applicants changed around the
    # event (the named one among them, in its current state); upserts make extras harmless.
    created_at = datetime.fromisoformat(event.payload["createdAt"])
    applicants_sync(study=recruitment.study, recruit_id=recruitment.ui_recruit_id,
                    client=client, updated_since=created_at - EVENT_WINDOW)
    _applicants_synced(recruitment, client, f"webhook:{event.event_id}")
    Recruitment.objects.filter(pk=recruitment.pk).update(last_synced_at=clock.now())


#: A stored event whose processing failed (or whose message was lost) is tried again by the
#: sweep after 30 s, 1 min, 2 min … (capped at an hour), up to this many attempts; UI also
#: re-sends it, and the poller covers whatever is left.
EVENT_RETRY_BASE_SECONDS = 30
EVENT_RETRY_CAP_SECONDS = 3600
EVENT_MAX_ATTEMPTS = 10


def webhook_events_due(*, now=None, limit=200):
    """Unprocessed, unclaimed events whose next try has come (oldest first)."""
    now = now or clock.now()
    candidates = (WebhookEvent.objects.filter(processed_at__isnull=True,
                                              attempts__lt=EVENT_MAX_ATTEMPTS)
                  .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                  .order_by("received_at").only("pk", "received_at", "attempts")[:limit])
    due = []
    for event in candidates:
        wait = min(EVENT_RETRY_CAP_SECONDS, EVENT_RETRY_BASE_SECONDS * 2 ** event.attempts)
        if event.received_at + timedelta(seconds=wait) <= now:
            due.append(event.pk)
    return due


#: Processed events are kept this long: far beyond UI's retry window (a day), so a late
#: duplicate is still recognised, and the table does not grow without end.
EVENT_RETENTION = timedelta(days=30)


def webhook_events_prune(*, now=None):
    """Delete processed events older than the retention; returns how many."""
    cutoff = (now or clock.now()) - EVENT_RETENTION
    deleted, _ = WebhookEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted

"""What each outbox operation does at User Interviews (recruitment.operations lists them all
in one table, by operation name).

A handler has up to four parts, all given the OutboxOperation row:
- `call(operation, client) -> dict`: the request to UI (never inside a transaction); the
  dict (JSON) is stored as the row's result;
- `apply(operation, result)`: the local change, run in the same short transaction that
  marks the row done;
- `on_failure(operation, message)`: the local change when the row ends failed;
- `lookup(operation, client) -> dict | None`: runs before any re-send after an attempt
  whose outcome is unknown; a dict means UI already has the effect (no re-send);
- `prepare(operations, client)`: optional, for a batch (`outbox_execute_batch`): reads the
  rows' local data in bulk and leaves it on each row as `operation.prepared`, which `call`
  uses instead of its own read (a row without it reads its own).
Payloads hold local ids only; handlers reload the rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from participants.models import Application
from participants.services import applications_upsert_from_ui
from recruitment import sync
from recruitment.models import Recruitment
from recruitment.user_interviews import errors
from recruitment.user_interviews.resources import RecruitStatus
from studies.models import Study, StudyType
from studies.unmoderated import study_task_url


class NotReady(Exception):
    """A precondition at UI is not met yet (e.g. launching before the recruit exists)."""


@dataclass
class Handler:
    operation: str
    call: Callable
    label: str
    apply: Callable | None = None
    on_failure: Callable | None = None
    lookup: Callable | None = None
    prepare: Callable | None = None

    def applies(self, fn):
        self.apply = fn
        return fn

    def fails(self, fn):
        self.on_failure = fn
        return fn

    def looks_up(self, fn):
        self.lookup = fn
        return fn

    def prepares(self, fn):
        self.prepare = fn
        return fn


def handler(operation, *, label=None):
    """`fn(operation, client) -> dict` as the call of the Handler of `operation` (listed in
    recruitment.operations)."""

    def make(fn):
        return Handler(operation=operation, call=fn, label=label or operation.replace("_", " "))

    return make


def _key(operation):
    return str(operation.idempotency_key)


def _recruitment(operation):
    return Recruitment.objects.select_related("study", "study__owner").get(
        study_id=operation.payload["study_id"])


def _actor(operation):
    return f"task:outbox:{operation.operation}"


# Recruits -----------------------------------------------------------------------------------


def _booking_entry_url(study):
    """Where UI sends participants to book (Rally's booking page), once scheduling has one."""
    try:
        path = reverse("scheduling:booking_entry", kwargs={"study_id": study.id})
    except NoReverseMatch:
        return None
    return settings.RALLY_BASE_URL.rstrip("/") + path


def screener_payload(study):
    """The screener UI shows applicants: the latest version (kept when recruitment started
    or when it changed since), or the draft as version 1 when none was kept yet. UI never
    qualifies anyone by it: every applicant is reviewed by a person (SPEC Q4)."""
    from studies.screeners.versions import screener_draft, snapshot_for_ui

    latest = study.screener_versions.order_by("-number").first()
    if latest is not None:
        return {"version": latest.number, "questions": snapshot_for_ui(latest.questions)}
    return {"version": 1, "questions": snapshot_for_ui(screener_draft(study))}


def recruit_attributes(study):
    """The recruit UI should run for `study`, in the client's vocabulary."""
    from studies.selectors import study_audience_payload

    entry = _booking_entry_url(study)
    unmoderated = study.study_type in (StudyType.UNMODERATED_TEST, StudyType.SURVEY)
    # Unmoderated Test participants get the test itself: the external test or Rally's
    # task page (SPEC T2), never a booking page.
    task_url = study_task_url(study) if study.study_type == StudyType.UNMODERATED_TEST else None
    return {
        "external_id": str(study.id),
        "internal_name": study.name,
        "public_title": study.participant_title,
        "public_description": study.external_description,
        "study_type": study.study_type,
        "num_participants": study.participation_limit,
        "duration_minutes": study.duration_minutes,
        "compensation": study.incentive_amount,
        "timezone": study.owner.time_zone,
        "audience": study_audience_payload(study),
        "screener": screener_payload(study),
        "scheduling_url": None if unmoderated else entry,
        "task_url": task_url,
    }


def recruit_external_id(operation):
    """The `externalId` of this start's recruit: the study's id, suffixed from the second
    start on (UI answers a repeated externalId with the first recruit, and a declined
    recruit cannot launch again)."""
    attempt = int(operation.payload.get("attempt") or 1)
    study_id = operation.payload["study_id"]
    return study_id if attempt == 1 else f"{study_id}:{attempt}"


@handler("create_recruit", label="create the study at User Interviews")
def create_recruit(operation, client):
    recruitment = _recruitment(operation)
    attributes = recruit_attributes(recruitment.study)
    attributes["external_id"] = recruit_external_id(operation)
    recruit = client.recruit_create(key=_key(operation), **attributes)
    return sync.recruit_result(recruit)


@create_recruit.looks_up
def _find_recruit(operation, client):
    recruit = client.recruit_find(external_id=recruit_external_id(operation))
    return sync.recruit_result(recruit) if recruit else None


@create_recruit.applies
def _store_recruit(operation, result):
    # This start's recruit becomes the study's, replacing a declined or failed one.
    sync.recruitment_apply_recruit(study_id=operation.payload["study_id"], result=result,
                                   actor_label=_actor(operation), adopt=True)


def _recruitment_fail(operation, message):
    sync.recruitment_mark_failed(study_id=operation.payload["study_id"], reason=message,
                                 actor_label=_actor(operation))


create_recruit.fails(_recruitment_fail)


def _recruit_action(operation, client, *, send, done_when):
    """Send a recruit action; a 409 means UI is elsewhere — fine if it is where we wanted."""
    recruitment = _recruitment(operation)
    if not recruitment.ui_recruit_id:
        raise NotReady("The study does not exist at User Interviews yet.")
    try:
        recruit = send(recruitment.ui_recruit_id, key=_key(operation))
    except errors.InvalidTransition:
        recruit = client.recruit_get(recruitment.ui_recruit_id)
        if recruit.status not in done_when:
            raise
    return sync.recruit_result(recruit)


def _apply_recruit_result(operation, result):
    sync.recruitment_apply_recruit(study_id=operation.payload["study_id"], result=result,
                                   actor_label=_actor(operation))


LAUNCHED = {RecruitStatus.PENDING_REVIEW, RecruitStatus.RECRUITING, RecruitStatus.FILLED,
            RecruitStatus.PAUSED, RecruitStatus.DECLINED, RecruitStatus.CLOSED}


@handler("launch_recruit", label="launch recruitment at User Interviews")
def launch_recruit(operation, client):
    return _recruit_action(operation, client, send=client.recruit_launch, done_when=LAUNCHED)


launch_recruit.applies(_apply_recruit_result)
launch_recruit.fails(_recruitment_fail)


@handler("pause_recruit", label="pause recruitment at User Interviews")
def pause_recruit(operation, client):
    return _recruit_action(operation, client, send=client.recruit_pause,
                           done_when={RecruitStatus.PAUSED, RecruitStatus.CLOSED})


pause_recruit.applies(_apply_recruit_result)


@handler("resume_recruit", label="resume recruitment at User Interviews")
def resume_recruit(operation, client):
    return _recruit_action(operation, client, send=client.recruit_resume,
                           done_when={RecruitStatus.RECRUITING, RecruitStatus.FILLED})


resume_recruit.applies(_apply_recruit_result)


@handler("close_recruit", label="close recruitment at User Interviews")
def close_recruit(operation, client):
    return _recruit_action(operation, client, send=client.recruit_close,
                           done_when={RecruitStatus.CLOSED})


close_recruit.applies(_apply_recruit_result)


@handler("set_recruit_intake", label="tell User Interviews whether to send applicants")
def set_recruit_intake(operation, client):
    """Close intake when the participation limit is reached, reopen it when a seat frees
    (SPEC R6). A recruit already closed or declined at UI takes no applicants anyway."""
    recruitment = _recruitment(operation)
    if not recruitment.ui_recruit_id:
        raise NotReady("The study does not exist at User Interviews yet.")
    try:
        recruit = client.recruit_intake_set(recruitment.ui_recruit_id, key=_key(operation),
                                            open=bool(operation.payload["open"]))
    except errors.InvalidTransition:
        recruit = client.recruit_get(recruitment.ui_recruit_id)
        if recruit.status not in (RecruitStatus.CLOSED, RecruitStatus.DECLINED):
            raise
    return {**sync.recruit_result(recruit), "intake_open": recruit.intake_open}


set_recruit_intake.applies(_apply_recruit_result)


#: What may still change at UI after launch (audience, incentive and type are locked, A7).
UPDATABLE_AFTER_LAUNCH = ("internal_name", "public_title", "public_description",
                          "num_participants", "screener")


@handler("update_recruit", label="update the study at User Interviews")
def update_recruit(operation, client):
    recruitment = _recruitment(operation)
    if not recruitment.ui_recruit_id:
        raise NotReady("The study does not exist at User Interviews yet.")
    attributes = recruit_attributes(Study.objects.select_related("owner").get(
        pk=recruitment.study_id))
    names = operation.payload.get("fields") or UPDATABLE_AFTER_LAUNCH
    changes = {name: attributes[name] for name in names if name in attributes}
    recruit = client.recruit_update(recruitment.ui_recruit_id, key=_key(operation), **changes)
    return sync.recruit_result(recruit)


update_recruit.applies(_apply_recruit_result)


# Applicants ---------------------------------------------------------------------------------


def _application(operation):
    return Application.objects.select_related("study").get(
        pk=operation.payload["application_id"])


def _applicant_result(applicant):
    return {"applicant": sync.applicant_document(applicant)}


def _apply_applicant(operation, result):
    application = _application(operation)
    applications_upsert_from_ui(study=application.study,
                                items=[sync.applicant_record_from_document(result["applicant"])])


@handler("approve_applicant", label="invite the participant through User Interviews")
def approve_applicant(operation, client):
    application = _application(operation)
    # Moderated studies: UI's invitation carries Rally's signed booking link (SPEC P3, C3).
    scheduling_url = task_url = None
    if application.study.is_moderated:
        from scheduling.services import booking_url_for

        scheduling_url = booking_url_for(application)
    elif application.study.study_type == StudyType.UNMODERATED_TEST:
        # Unmoderated: the invitation carries the test link as it is now (SPEC T2).
        task_url = study_task_url(application.study)
    return _applicant_result(client.applicant_approve(
        application.ui_applicant_id, key=_key(operation), scheduling_url=scheduling_url,
        task_url=task_url))


approve_applicant.applies(_apply_applicant)


@handler("reject_applicant", label="reject the applicant at User Interviews")
def reject_applicant(operation, client):
    application = _application(operation)
    return _applicant_result(client.applicant_reject(
        application.ui_applicant_id, key=_key(operation),
        reason=application.rejection_reason))


reject_applicant.applies(_apply_applicant)

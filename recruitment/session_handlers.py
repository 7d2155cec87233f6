"""Outbox handlers telling User Interviews about sessions booked, moved, ended and canceled.

Rally's scheduler owns sessions; UI keeps its own copy per applicant. The UI session id
comes back from `create_session` and is kept in that operation's result, where the later
operations find it.
"""

from participants.models import Application
from rally.models import OutboxOperation
from recruitment.handlers import NotReady, handler
from recruitment.models import Recruitment
from recruitment.user_interviews import errors
from scheduling.models import Session


def _key(operation):
    return str(operation.idempotency_key)


def _session(operation):
    return Session.objects.get(pk=operation.payload["session_id"])


def _ui_session_id(operation):
    created = (OutboxOperation.objects
               .filter(operation="create_session", status=OutboxOperation.Status.DONE,
                       payload__session_id=operation.payload["session_id"])
               .values_list("result", flat=True).first())
    if not created or not created.get("ui_session_id"):
        raise NotReady("The session is not at User Interviews yet.")
    return created["ui_session_id"]


def _result(ui_session):
    return {"ui_session_id": ui_session.id, "status": str(ui_session.status)}


@handler("create_session", label="tell User Interviews about the booking")
def create_session(operation, client):
    session = _session(operation)
    recruit_id = (Recruitment.objects.filter(study_id=session.study_id)
                  .values_list("ui_recruit_id", flat=True).first())
    applicant_id = (Application.objects.filter(pk=session.application_id)
                    .values_list("ui_applicant_id", flat=True).first())
    if not recruit_id or not applicant_id:
        raise NotReady("The study or the applicant is not at User Interviews yet.")
    return _result(client.session_create(
        recruit_id, key=_key(operation), applicant_id=applicant_id,
        starts_at=session.starts_at, ends_at=session.ends_at))


def _session_action(operation, send):
    """A 409 means UI's session is already past this step: nothing more to tell."""
    try:
        return _result(send(_ui_session_id(operation), key=_key(operation)))
    except errors.InvalidTransition as conflict:
        return {"ui_session_id": _ui_session_id(operation), "status": "unchanged",
                "detail": str(conflict)}


@handler("complete_session", label="mark the session completed at User Interviews")
def complete_session(operation, client):
    return _session_action(operation, client.session_complete)


@handler("no_show_session", label="mark the no-show at User Interviews")
def no_show_session(operation, client):
    return _session_action(operation, client.session_no_show)


@handler("cancel_session", label="cancel the session at User Interviews")
def cancel_session(operation, client):
    if operation.payload.get("keep_seat"):  # a host's Cancel or Reschedule (SPEC C5)
        return _session_action(operation, lambda session_id, *, key: client.session_cancel(
            session_id, key=key, keep_seat=True))
    return _session_action(operation, client.session_cancel)


@handler("reschedule_session", label="move the session at User Interviews")
def reschedule_session(operation, client):
    session = _session(operation)
    return _result(client.session_reschedule(
        _ui_session_id(operation), key=_key(operation), starts_at=session.starts_at,
        ends_at=session.ends_at))

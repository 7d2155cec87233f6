"""Unmoderated Test studies at User Interviews (SPEC T2): a participant's submission comes
back through the applicant sync (webhook or poll) and becomes Rally's completion record;
Rally then tells UI the session is completed (`complete_test_session`).

UI reports `submitted` for the applicant and holds a session for it; its start and end are
the test's. Every apply is idempotent (scheduling.unmoderated), so duplicate webhooks
and the poller record one completion.
"""

from recruitment.handlers import handler
from recruitment.user_interviews import errors
from recruitment.user_interviews.resources import SessionStatus
from scheduling.unmoderated import (
    COMPLETE_TEST_OPERATION,
    unmoderated_completion_record,
    unmoderated_completions_missing,
)


def unmoderated_completions_sync(*, study, recruit_id, client, actor_label):
    """Record the completion of every finished applicant of the study still without one.
    One listing of the recruit's sessions serves them all; nothing is asked of UI when no
    applicant is waiting. Returns how many completions were recorded."""
    waiting = unmoderated_completions_missing(study=study)
    if not waiting:
        return 0
    latest = {}
    for page in client.sessions_pages(recruit_id):
        for ui_session in page.items:
            if ui_session.applicant_id not in waiting:
                continue
            if ui_session.status in (SessionStatus.CANCELED, SessionStatus.NO_SHOW):
                continue
            known = latest.get(ui_session.applicant_id)
            if known is None or ui_session.ends_at > known.ends_at:
                latest[ui_session.applicant_id] = ui_session
    recorded = 0
    for applicant_id, ui_session in latest.items():
        session = unmoderated_completion_record(
            application_id=waiting[applicant_id], completed_at=ui_session.ends_at,
            started_at=ui_session.starts_at, ui_session_id=ui_session.id,
            ui_status=str(ui_session.status), actor_label=actor_label)
        recorded += session is not None
    return recorded


@handler(COMPLETE_TEST_OPERATION, label="mark the test completed at User Interviews")
def complete_test_session(operation, client):
    ui_session_id = operation.payload["ui_session_id"]
    try:
        ui_session = client.session_complete(ui_session_id, key=str(operation.idempotency_key))
    except errors.InvalidTransition as conflict:
        # Already completed at UI (or moved on): nothing more to tell.
        return {"ui_session_id": ui_session_id, "status": "unchanged", "detail": str(conflict)}
    return {"ui_session_id": ui_session.id, "status": str(ui_session.status)}

"""Sessions reach User Interviews through the outbox: booked, completed, moved (the sandbox
in-process)."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import uuid
from datetime import timedelta

import pytest
from django.db import transaction

from participants.models import Application
from rally import clock
from rally.models import OutboxOperation
from rally.services import outbox_enqueue
from recruitment import outbox, sync
from recruitment.models import Recruitment
from tests.billing.payouts_support import ended_session, funded_ui_study
from tests.recruitment.factories import RecruitmentFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def _enqueue(study, operation, subject, payload):
    with transaction.atomic():
        return outbox_enqueue(workspace=study.workspace, operation=operation, subject=subject,
                              payload=payload, study_id=study.pk)


def _run(row, client):
    return outbox.outbox_execute(operation_id=row.pk, client=client)


@pytest.fixture
def booked(admin, sandbox_ui):
    """A live UI study, an invited applicant and a session booked in Rally."""
    study = funded_ui_study(admin, limit=3)
    RecruitmentFactory(study=study)
    payload = {"study_id": str(study.pk)}
    assert _run(_enqueue(study, "create_recruit", study.pk, payload), sandbox_ui) == "done"
    assert _run(_enqueue(study, "launch_recruit", study.pk, payload), sandbox_ui) == "done"
    recruitment = Recruitment.objects.get(study=study)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 1, "seed": 5})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    application = Application.objects.get(study=study)
    sandbox_ui.applicant_approve(application.ui_applicant_id, key=str(uuid.uuid4()))
    session = ended_session(study, application=application)
    return study, session, recruitment.ui_recruit_id


def _session_payload(study, session):
    return {"session_id": str(session.pk), "application_id": str(session.application_id),
            "study_id": str(study.pk)}


def _ui_sessions(client, recruit_id):
    return [s for page in client.sessions_pages(recruit_id) for s in page.items]


def test_a_booking_then_completion_reach_ui_once(booked, sandbox_ui):
    study, session, recruit_id = booked
    payload = _session_payload(study, session)
    completion = _enqueue(study, "complete_session", session.pk, payload)
    assert _run(completion, sandbox_ui) != "done"  # not at UI yet: waits, no error storm
    create = _enqueue(study, "create_session", session.pk, payload)
    assert _run(create, sandbox_ui) == "done"
    completion.refresh_from_db()
    clock.advance(seconds=3600)
    assert _run(completion, sandbox_ui) == "done"
    sessions = _ui_sessions(sandbox_ui, recruit_id)
    assert [str(s.status) for s in sessions] == ["completed"]
    assert sessions[0].starts_at == session.starts_at
    # Completing again (a second click, a retry) is no new effect at UI.
    again = _enqueue(study, "complete_session", f"{session.pk}:again", payload)
    assert _run(again, sandbox_ui) == "done"
    assert len(_ui_sessions(sandbox_ui, recruit_id)) == 1


def test_a_reschedule_moves_the_ui_session_to_rallys_time(booked, sandbox_ui):
    study, session, recruit_id = booked
    payload = _session_payload(study, session)
    assert _run(_enqueue(study, "create_session", session.pk, payload), sandbox_ui) == "done"
    moved = session.starts_at + timedelta(days=2)
    type(session).objects.filter(pk=session.pk).update(
        starts_at=moved, ends_at=moved + (session.ends_at - session.starts_at))
    row = _enqueue(study, "reschedule_session", f"{session.pk}:1", payload)
    assert _run(row, sandbox_ui) == "done"
    assert _ui_sessions(sandbox_ui, recruit_id)[0].starts_at == moved
    assert OutboxOperation.objects.filter(status="failed").count() == 0


def test_a_host_cancellation_reaches_ui_and_keeps_the_applicant_approved(booked, sandbox_ui):
    from sandbox.models import Applicant

    study, session, recruit_id = booked
    payload = _session_payload(study, session)
    assert _run(_enqueue(study, "create_session", session.pk, payload), sandbox_ui) == "done"
    cancel = _enqueue(study, "cancel_session", session.pk, {**payload, "keep_seat": True})
    assert _run(cancel, sandbox_ui) == "done"
    (ui_session,) = _ui_sessions(sandbox_ui, recruit_id)
    assert str(ui_session.status) == "canceled"
    assert Applicant.objects.get(pk=session.application.ui_applicant_id).status == "approved"

import pytest

from tests.scheduling.factories import (
    ActiveStudyFactory,
    ApplicationFactory,
    SchedulingSettingsFactory,
)


@pytest.fixture
def study(workspace, researcher, frozen_clock):
    return ActiveStudyFactory(workspace=workspace, owner=researcher.user, duration_minutes=60)


@pytest.fixture
def scheduling(study):
    return SchedulingSettingsFactory(study=study)


@pytest.fixture
def invited(study):
    def make(**kwargs):
        return ApplicationFactory(study=kwargs.pop("study", study), status="invited", **kwargs)
    return make


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """Stand in for the Celery worker: calendar invites run inline, other tasks are recorded."""
    from rally.celery import app
    from scheduling import ics

    sent = []

    def send_task(name, args=(), **kwargs):
        sent.append((name, list(args)))
        if name == "scheduling.session_invite_send":
            ics.session_invite_send(session_id=args[0])
        if name == "scheduling.group_invite_send":
            ics.group_invite_send(group_slot_id=args[0])

    monkeypatch.setattr(app, "send_task", send_task)
    return sent

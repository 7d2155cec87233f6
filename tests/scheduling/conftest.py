from datetime import UTC, datetime

import pytest
import time_machine

from tests.scheduling.factories import (
    ActiveStudyFactory,
    ApplicationFactory,
    SchedulingSettingsFactory,
)

#: Monday 1 June 2026, 08:00 in New York
MONDAY_MORNING = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False) as traveller:
        yield traveller


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

import uuid
from decimal import Decimal

import pytest

from billing.services import budget_add_funds, budget_default_ensure
from tests.a11y.conftest import axe_source, axe_violations  # noqa: F401 - shared fixtures
from tests.panel.factories import PanelPersonFactory, PanelStudyFactory
from tests.scheduling.factories import SchedulingSettingsFactory


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """Stand in for the Celery worker: invitation emails are sent inline, other tasks are
    recorded."""
    from panel import services
    from rally.celery import app

    sent = []

    def send_task(name, args=(), **kwargs):
        sent.append((name, list(args)))
        if name == services.EMAIL_SEND_TASK:
            services.invitation_email_send(invitation_id=args[0])
        elif name == services.BOOKING_EMAIL_TASK:
            services.booking_email_send(invitation_id=args[0])

    monkeypatch.setattr(app, "send_task", send_task)
    return sent


@pytest.fixture
def study(workspace, researcher):
    return PanelStudyFactory(workspace=workspace, owner=researcher.user)


@pytest.fixture
def person(workspace):
    def make(**kwargs):
        return PanelPersonFactory(workspace=workspace, **kwargs)
    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`committed(fn, **kwargs)`: call a use case and run its after-commit work (emails)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


@pytest.fixture
def panel_study(workspace, researcher, frozen_clock):
    """A Rally-panel study with a $40.00 incentive and scheduling settings."""
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user, name="Panel diary",
                              incentive_amount=Decimal("40.00"))
    SchedulingSettingsFactory(study=study)
    return study


@pytest.fixture
def funded(workspace, admin):
    """The Workspace Budget with $500.00 in it."""
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds(membership=admin, budget=budget, amount=Decimal("500.00"),
                     reference="PO-21", key=uuid.uuid4())
    return budget

"""Builders for the payout tests (billing, scheduling, recruitment): a User Interviews study
with its reservation, sessions that have ended, and payouts due in bulk."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import Payout, Transfer
from billing.services import budget_default_ensure, budget_reserve_for_study
from rally import clock
from scheduling.models import Session
from tests.billing.factories import funds_add
from tests.participants.factories import ApplicationFactory, StudyFactory


def funded_ui_study(admin, *, limit=5, fee="65.00", incentive="100.00", **study_fields):
    """An active UI study whose recruitment reserved limit × (fee + incentive)."""
    study = StudyFactory(workspace=admin.workspace, owner=admin.user, participation_limit=limit,
                         incentive_amount=Decimal(incentive), **study_fields)
    budget = budget_default_ensure(workspace=admin.workspace)
    funds_add(admin, budget, str(limit * (Decimal(fee) + Decimal(incentive))), "PO-payouts")
    budget_reserve_for_study(budget=budget, study_id=study.pk, study_name=study.name,
                             participation_limit=limit, fee=Decimal(fee),
                             incentive=Decimal(incentive), actor=admin.user)
    return study


def ended_session(study, *, ended=timedelta(hours=1), length=timedelta(hours=1),
                  application=None, host=None):
    """An Upcoming session (booked) that ended `ended` ago, waiting to be marked."""
    application = application or ApplicationFactory(study=study, status="scheduled")
    now = clock.now()
    return Session.objects.create(
        workspace=study.workspace, study=study, application=application,
        host=host or study.owner, starts_at=now - ended - length, ends_at=now - ended,
        created_at=now, updated_at=now)


def due_payouts(study, count, *, due=timedelta(minutes=1)):
    """`count` payouts of `study` that came due `due` ago (sessions by id only)."""
    now = clock.now()
    payouts = [Payout(workspace=study.workspace, study_id=study.pk, study_name=study.name,
                      session_id=uuid.uuid4(), application_id=uuid.uuid4(),
                      participant_label=f"Participant {n}", amount=study.incentive_amount,
                      due_at=now - due, created_at=now, updated_at=now)
               for n in range(count)]
    return Payout.objects.bulk_create(payouts, batch_size=1000)


def charges(study):
    """(fees, incentives, paid) transfer counts of a study."""
    rows = Transfer.objects.filter(study_id=study.pk)
    return (rows.filter(kind="fee").count(), rows.filter(kind="incentive").count(),
            rows.filter(kind="paid").count())


@pytest.fixture(autouse=True)  # active in the test modules that import it
def dispatched(monkeypatch, settings):
    """No broker: record the tasks that would be sent; the test clock may move."""
    from rally.celery import app

    settings.SANDBOX_ENABLED = True
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **kw: sent.append((name, args)))
    yield sent
    clock.reset()

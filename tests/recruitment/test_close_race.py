"""Closing a study while a host completes and pays a session (QUALITY: close racing a
completion): whatever order the two take, the money adds up and the receipt is final."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing.models import Receipt
from billing.reconciliation import ledger_problems
from billing.selectors import study_billing_for
from recruitment import workflows
from scheduling.services import session_complete_and_pay
from studies.models import Status
from tests.billing.payouts_support import charges, ended_session, funded_ui_study

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def test_close_racing_complete_and_pay_leaves_a_ledger_that_adds_up(admin):
    study = funded_ui_study(admin, limit=3, status=Status.ACTIVE)
    session = ended_session(study)
    barrier = threading.Barrier(2)
    outcomes = {}

    def run(name, job):
        barrier.wait()
        try:
            job()
            outcomes[name] = "done"
        except ValidationError as refusal:
            outcomes[name] = f"refused: {refusal.messages}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("close", lambda: workflows.study_status_change(
            membership=admin, study=study, to=Status.CLOSED))),
        threading.Thread(target=run, args=("pay", lambda: session_complete_and_pay(
            membership=admin, session_id=session.pk))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["close"] == "done"
    receipt = Receipt.objects.get(study_id=study.pk)
    fees, incentives, _ = charges(study)
    assert fees == incentives == receipt.participants <= 1
    assert receipt.reserved == receipt.total_spent + receipt.unused
    assert study_billing_for(study.pk)["figures"]["hold"] == 0
    assert ledger_problems() == []

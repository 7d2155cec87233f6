"""Through the sandbox: UI's confirmation of a payment, by poll or by webhook (delivered
again and again), makes the participant's application Paid once (SPEC P4, I3)."""
# ruff: noqa: F811 - the sandbox fixtures are imported by name

import pytest

from billing.models import Payout
from participants.models import Application
from rally.models import ActivityEntry
from recruitment import payments
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.recruitment.test_payments import (  # noqa: F401 - fixtures
    completed,
    deliver_payment_webhook,
    no_broker,
    pay_now,
    run,
    settle_at_ui,
)

pytestmark = pytest.mark.django_db


def _paid_entries():
    return ActivityEntry.objects.filter(action="participants.applicant_paid")


def test_the_poll_confirming_payment_makes_the_application_paid_once(admin, completed,
                                                                     sandbox_ui):
    _study, session, _ = completed
    assert run(pay_now(admin, session), sandbox_ui) == "done"
    application = Application.objects.get(pk=session.application_id)
    assert application.status == "completed"  # UI took it; not paid yet
    settle_at_ui(sandbox_ui)
    assert payments.payments_poll(client=sandbox_ui) == 1
    assert payments.payments_poll(client=sandbox_ui) == 0
    application.refresh_from_db()
    assert application.status == "paid"
    assert _paid_entries().count() == 1


def test_duplicate_payment_webhooks_make_the_application_paid_once(admin, completed,
                                                                  sandbox_ui):
    study, session, _ = completed
    assert run(pay_now(admin, session), sandbox_ui) == "done"
    settle_at_ui(sandbox_ui)
    payout = Payout.objects.get(session_id=session.pk)
    deliver_payment_webhook(study, payout, sandbox_ui, event_id="evt_pay_paid", times=3)
    assert Application.objects.get(pk=session.application_id).status == "paid"
    entry = _paid_entries().get()
    assert entry.actor_label == "webhook:evt_pay_paid" and entry.study_id == study.pk

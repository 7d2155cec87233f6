"""The Budgets → Payments tab lists payouts (who, amount, trigger, state, UI payment id,
time), filters by study, and offers "Retry" on failed ones."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import payouts
from billing.models import Payout
from tests.billing.payouts_support import due_payouts, funded_ui_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def test_payments_tab_lists_payouts_with_state_trigger_and_ui_payment(admin, client_for):
    study = funded_ui_study(admin, name="Checkout interviews")
    first, second = due_payouts(study, 2)
    payouts.payouts_sweep()
    payouts.payout_record_sent(payout_id=first.pk, ui_payment_id="pay_abc", ui_status="paid",
                               actor="webhook:evt_1")
    response = client_for(admin).get(reverse("billing:payments"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Checkout interviews" in body and "pay_abc" in body
    assert "Paid" in body and "Sending" in body and "Automatic" in body
    assert first.participant_label in body and second.participant_label in body


def test_payments_tab_filters_by_study(admin, client_for):
    kept, other = funded_ui_study(admin, name="Kept study"), funded_ui_study(admin,
                                                                             name="Other")
    due_payouts(kept, 1)
    [hidden] = due_payouts(other, 1)
    Payout.objects.filter(pk=hidden.pk).update(participant_label="Hidden Person")
    response = client_for(admin).get(reverse("billing:payments"), {"study": kept.pk})
    body = response.content.decode()
    assert "Hidden Person" not in body and "Participant 0" in body


def test_payments_tab_query_count_stays_flat(admin, client_for):
    study = funded_ui_study(admin)
    client = client_for(admin)
    due_payouts(study, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("billing:payments"))
    due_payouts(study, 40)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("billing:payments"))
    assert len(many) == len(few) <= 15


def test_retry_sends_a_failed_payout_again(admin, client_for):
    study = funded_ui_study(admin)
    [payout] = due_payouts(study, 1)
    payouts.payouts_sweep()
    payouts.payout_record_failed(payout_id=payout.pk, reason="User Interviews answered 409",
                                 actor="task:outbox")
    client = client_for(admin)
    page = client.get(reverse("billing:payments")).content.decode()
    assert "Retry" in page and "answered 409" in page
    response = client.post(reverse("billing:payout_retry", args=[payout.pk]))
    assert response.status_code == 302
    payout.refresh_from_db()
    assert payout.state == "sending"


def test_payments_are_for_budget_readers_and_their_workspace(admin, researcher, outsider,
                                                           client_for):
    study = funded_ui_study(admin)
    [payout] = due_payouts(study, 1)
    assert client_for(researcher).get(reverse("billing:payments")).status_code == 403
    response = client_for(outsider).post(reverse("billing:payout_retry", args=[payout.pk]))
    assert response.status_code == 404
    assert client_for(researcher).post(
        reverse("billing:payout_retry", args=[payout.pk])).status_code == 403

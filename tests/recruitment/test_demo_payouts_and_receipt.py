"""The demo workspace's money (UI.md "Demo workspace"): completed sessions with payouts in
every state, a closed study with its receipt, a ledger that reconciles, and a seed that can
run twice."""

import os

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import Payout, Receipt, Reservation, Transfer
from billing.reconciliation import ledger_problems
from demo.recruiting import FAILED_REASON
from demo.studies import ACTIVE_STUDY, CLOSED_STUDY
from participants.models import Application
from rally import clock
from rally.models import ActivityEntry, OutboxOperation, User

pytestmark = pytest.mark.django_db


def _seed():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def seeded(settings):
    # The sandbox stays off: the demo's money needs no User Interviews, only Rally's services.
    settings.DEBUG = True
    settings.SANDBOX_ENABLED = False
    _seed()


def _counts():
    return (Transfer.objects.count(), Payout.objects.count(), Receipt.objects.count(),
            Reservation.objects.count(), ActivityEntry.objects.count(),
            Application.objects.count(), OutboxOperation.objects.count())


def test_seeding_twice_adds_nothing_and_the_ledger_reconciles(seeded):
    counts = _counts()
    _seed()
    assert _counts() == counts
    assert ledger_problems() == []
    call_command("billing_check", stdout=open(os.devnull, "w"))  # noqa: SIM115 - exits 0


def test_the_active_study_has_payouts_in_every_state(seeded):
    payouts = {payout.participant_label: payout
               for payout in Payout.objects.filter(study_name=ACTIVE_STUDY)}
    states = {label: payout.state for label, payout in payouts.items()}
    assert states == {"Jonah B.": "paid", "Priya S.": "sent", "Kemal D.": "sending",
                      "Lena V.": "failed", "Mateo G.": "not_sent"}
    assert payouts["Mateo G."].due_at > clock.now()  # due later today or tomorrow
    assert payouts["Lena V."].failure_reason == FAILED_REASON
    assert payouts["Priya S."].ui_payment_id
    # The one still on its way has its request to User Interviews waiting in the outbox.
    operations = OutboxOperation.objects.filter(operation="create_payment")
    assert operations.get(payload__payout_id=str(payouts["Kemal D."].pk)).status == "pending"
    assert operations.get(payload__payout_id=str(payouts["Lena V."].pk)).status == "failed"
    # Seats: invited + scheduled + completed + paid fill the participation limit exactly.
    study = payouts["Kemal D."]
    seats = Application.objects.filter(study_id=study.study_id, status__in=[
        "invited", "scheduled", "completed", "paid"]).count()
    assert seats == 8


def test_the_closed_study_was_paid_and_has_its_receipt(seeded):
    receipt = Receipt.objects.get(study_name=CLOSED_STUDY)
    assert receipt.participants == 3
    assert receipt.total_spent == receipt.recruitment_fees + receipt.incentives
    assert receipt.reserved == receipt.total_spent + receipt.unused
    assert receipt.budget_name == "Q4 Research Budget"
    assert not Reservation.objects.get(study_id=receipt.study_id).is_open
    assert set(Payout.objects.filter(study_id=receipt.study_id)
               .values_list("state", flat=True)) == {"paid"}
    assert Application.objects.filter(study_id=receipt.study_id, status="paid").count() == 3


def test_the_demo_pages_show_it(seeded, client):
    client.force_login(User.objects.get(email="admin@example.com"))
    payments = client.get(reverse("billing:payments")).content.decode()
    assert "Retry the payment to Lena V." in payments
    receipt = Receipt.objects.get(study_name=CLOSED_STUDY)
    overview = client.get(reverse("studies:study_overview", args=[receipt.study_id]))
    body = overview.content.decode()
    assert receipt.number in body and "Recruitment metrics" in body
    reports = client.get(reverse("recruitment:reports")).content.decode()
    assert ACTIVE_STUDY in reports and CLOSED_STUDY in reports

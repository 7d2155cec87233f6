"""Prices with effective dates (SPEC B1) and the `billing_check` reconciliation command."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.models import Price, Reservation
from billing.pricing import recruitment_fee
from rally import clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("b1_prices")]


@pytest.mark.parametrize("audience,study_type,fee", [
    ("b2b", "interview", "65.00"), ("b2b", "group_interview", "65.00"),
    ("b2b", "unmoderated_test", "43.00"), ("b2c", "interview", "39.00"),
    ("b2c", "group_interview", "39.00"), ("b2c", "unmoderated_test", "26.00")])
def test_recruitment_fee_follows_the_b1_table(audience, study_type, fee):
    assert recruitment_fee(audience_type=audience, study_type=study_type) == Decimal(fee)


def test_surveys_have_no_recruitment_fee():
    with pytest.raises(ValueError):
        recruitment_fee(audience_type="b2b", study_type="survey")


def test_a_price_change_applies_only_from_its_date():
    today = clock.now().date()
    Price.objects.create(audience_type="b2c", kind="moderated", amount=Decimal("45.00"),
                         effective_from=today + datetime.timedelta(days=10))
    assert recruitment_fee(audience_type="b2c", study_type="interview") == Decimal("39.00")
    later = today + datetime.timedelta(days=10)
    assert recruitment_fee(audience_type="b2c", study_type="interview",
                           on=later) == Decimal("45.00")


def test_billing_check_passes_on_a_sound_ledger(funded_budget, reserve, capsys):
    reserve(funded_budget, limit=2)
    call_command("billing_check")
    assert "Ledger OK" in capsys.readouterr().out


def test_billing_check_fails_loudly_when_a_reservation_has_no_money(funded_budget, capsys):
    Reservation.objects.create(
        workspace=funded_budget.workspace, budget=funded_budget, study_id=uuid.uuid4(),
        study_name="Ghost", participation_limit=2, initial_limit=2, fee=Decimal("65.00"),
        incentive=Decimal("10.00"), created_by_label="test", created_at=clock.now())
    with pytest.raises(SystemExit) as exit_info:
        call_command("billing_check")
    assert exit_info.value.code == 1
    assert "Ghost" in capsys.readouterr().err


def test_estimate_shows_both_parts_and_the_shortfall(funded_budget):
    from billing.pricing import recruitment_estimate
    from billing.selectors import budget_shortfall

    estimate = recruitment_estimate(participation_limit=8, fee=Decimal("65.00"),
                                    incentive=Decimal("100.00"))
    assert (estimate.fees_total, estimate.incentives_total, estimate.total) == (
        Decimal("520.00"), Decimal("800.00"), Decimal("1320.00"))
    assert estimate.per_participant == Decimal("165.00")
    assert budget_shortfall(budget=funded_budget, amount=estimate.total) == Decimal("320.00")
    assert budget_shortfall(budget=funded_budget, amount=Decimal("10.00")) == Decimal("0.00")

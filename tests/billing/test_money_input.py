"""Amounts typed by people: anything at all gives a clear refusal or a sound Decimal."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Transfer
from billing.money import MAX_ADDITION, amount_parse, money_format
from tests.examples import examples


@pytest.mark.parametrize("text,amount", [
    ("5", "5.00"), ("$5.5", "5.50"), (" 1,250.00 ", "1250.00"), ("1,000,000", "1000000.00"),
    ("0.01", "0.01")])
def test_amounts_people_type_are_read_exactly(text, amount):
    assert amount_parse(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["5,00", "1,25", "12,34,567", ",5", "1.2.3", "--5", "5$"])
def test_ambiguous_commas_and_garbage_are_refused(text):
    with pytest.raises(ValidationError):
        amount_parse(text)


@given(st.one_of(st.text(max_size=40), st.decimals(allow_nan=True, allow_infinity=True),
                 st.integers(), st.floats()))
def test_any_input_is_refused_cleanly_or_is_a_sound_amount(value):
    try:
        amount = amount_parse(value)
    except ValidationError as error:
        assert error.message_dict["amount"]
        return
    assert Decimal("0.01") <= amount <= MAX_ADDITION
    assert amount == amount.quantize(Decimal("0.01"))


def test_money_is_shown_with_cents_and_separators():
    assert money_format(Decimal("1234")) == "$1,234.00"
    assert money_format(Decimal("-12.5")) == "\u2212$12.50"
    assert money_format(None) == "$0.00"


@pytest.mark.django_db
@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(amount=st.text(max_size=30), reference=st.text(max_size=250),
       key=st.one_of(st.just(""), st.text(max_size=40), st.uuids().map(str)))
def test_add_funds_form_never_fails_on_generated_input(client_for, admin, budget, amount,
                                                       reference, key):
    before = Transfer.objects.count()
    response = client_for(admin).post(
        reverse("billing:funds_add", args=[budget.pk]),
        {"amount": amount, "reference": reference, "key": key})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert Transfer.objects.count() == before


def test_add_funds_service_refuses_a_forged_key(budget, admin, db):
    from billing.services import budget_add_funds

    with pytest.raises(ValidationError):
        budget_add_funds(membership=admin, budget=budget, amount="5", reference="x",
                         key="not-a-uuid")


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["12,34", "7,50", "١٠٠", "1_000", "1e3", "²", "１００"])
def test_add_funds_refuses_what_is_not_ascii_dollars_and_adds_nothing(client_for, admin, budget,
                                                                      amount):
    response = client_for(admin).post(
        reverse("billing:funds_add", args=[budget.pk]),
        {"amount": amount, "reference": "PO-1", "key": "5a8f3c3e-3d0f-4c59-a7a3-6a1d1c0b7e11"})
    assert response.status_code == 400
    assert "Enter the amount as a number of US dollars with the digits 0-9" in \
        response.content.decode()
    assert not Transfer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["7,50", "١٠٠", "1e3", "²"])
def test_panel_incentive_refuses_what_is_not_ascii_dollars(budget, admin, amount):
    from billing.panel_incentives import panel_incentive_record

    with pytest.raises(ValidationError) as refused:
        panel_incentive_record(budget=budget, study_id=budget.pk, study_name="S",
                               application_id=budget.pk, participant_label="P", amount=amount,
                               method="gift_card", reference="", actor=admin.user)
    assert "digits 0-9" in refused.value.message_dict["amount"][0]
    assert not Transfer.objects.exists()

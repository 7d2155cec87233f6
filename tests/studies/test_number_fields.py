"""Money and counts on the study pages (SPEC §13): "7,50" is not $750, "²" is not a 500,
"١٠٠" is not 100; every refusal says how to write the number and changes nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rally.models import ActivityEntry
from tests.examples import examples

pytestmark = pytest.mark.django_db

NOT_ASCII_NUMBERS = ["7,50", "12,34", "١٠٠", "1_000", "1e3", "²", "１２", "Ⅻ"]
UNICODE_NUMBERS = st.text(alphabet=st.one_of(st.characters(categories=("Nd", "No", "Nl")),
                                             st.sampled_from("0123456789,._ e")),
                          min_size=1, max_size=10)
# Each example is one request against the real database: enough to meet many Unicode
# digits without making the suite slow (the parser's own tests run four times as many).
THROUGH_THE_PAGE = settings(max_examples=examples(120), deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])


def _plan(study, **overrides):
    data = {"name": study.name, "study_type": study.study_type, "source": study.source,
            "external_description": "About onboarding", "participation_limit": "10",
            "incentive_amount": "75.00"}
    data.update(overrides)
    return data


def _stored(study):
    study.refresh_from_db()
    return study.participation_limit, study.incentive_amount, study.duration_minutes


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_incentive_amount_refuses_what_is_not_ascii_dollars(client_for, researcher, study, text):
    before = _stored(study)
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan(study, incentive_amount=text))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter the incentive amount as a number of US dollars with the digits 0-9" in page
    assert 'id="id_incentive_amount-error"' in page
    assert _stored(study) == before
    assert not ActivityEntry.objects.filter(study_id=study.id).exists()


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_participation_limit_refuses_what_is_not_an_ascii_whole_number(client_for, researcher,
                                                                       study, text):
    before = _stored(study)
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan(study, participation_limit=text))
    assert response.status_code == 400
    assert "Enter the participation limit as a whole number with the digits 0-9" in \
        response.content.decode()
    assert _stored(study) == before


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_participation_time_refuses_what_is_not_an_ascii_whole_number(client_for, researcher,
                                                                      study, text):
    before = _stored(study)
    response = client_for(researcher).post(
        reverse("studies:study_audience_settings", args=[study.id]),
        {"audience_type": "b2c", "duration_minutes": text})
    assert response.status_code == 400
    assert "Enter the total participation time as a whole number" in response.content.decode()
    assert _stored(study) == before


def test_thousands_separators_are_read_as_thousands(client_for, researcher, study):
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan(study, participation_limit="1,000",
                                                 incentive_amount="$1,250.50"))
    assert response.status_code == 302
    assert _stored(study)[:2] == (1000, Decimal("1250.50"))


@THROUGH_THE_PAGE
@given(limit=UNICODE_NUMBERS, incentive=UNICODE_NUMBERS)
def test_plan_numbers_over_unicode_digits_store_only_ascii_numbers(client_for, researcher,
                                                                   study, limit, incentive):
    before = _stored(study)
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan(study, participation_limit=limit,
                                                 incentive_amount=incentive))
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert _stored(study) == before
        return
    # The form trims surrounding whitespace (any kind); what is left was plain ASCII.
    limit, incentive = limit.strip(), incentive.strip()
    assert limit.isascii() and incentive.isascii()
    stored_limit, stored_incentive, _ = _stored(study)
    assert stored_limit == (int(limit.replace(",", "")) if limit else None)
    assert stored_incentive == (Decimal(incentive.replace(",", "")) if incentive else None)


@THROUGH_THE_PAGE
@given(minutes=UNICODE_NUMBERS)
def test_participation_time_over_unicode_digits_never_answers_500(client_for, researcher, study,
                                                                  minutes):
    response = client_for(researcher).post(
        reverse("studies:study_audience_settings", args=[study.id]),
        {"audience_type": "b2c", "duration_minutes": minutes})
    assert response.status_code in (200, 302, 400)
    study.refresh_from_db()
    if response.status_code == 400:
        return
    minutes = minutes.strip()
    assert minutes.isascii() and study.duration_minutes == int(minutes.replace(",", ""))

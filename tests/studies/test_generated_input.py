"""Generated input against the plan and audience forms: never a 500, never a half-save."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies import services
from studies.models import Study
from tests.examples import examples

pytestmark = pytest.mark.django_db

junk = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                 st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str))


@settings(max_examples=examples(30), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=junk, incentive=junk)
def test_plan_accepts_valid_values_and_refuses_the_rest_whole(client_for, researcher, study,
                                                              limit, incentive):
    response = client_for(researcher).post(
        reverse("recruitment:study_plan_save", args=[study.id]),
        {"name": study.name, "study_type": study.study_type, "source": study.source,
         "participation_limit": limit, "incentive_amount": incentive})
    assert response.status_code in (302, 400)
    saved = Study.objects.get(pk=study.pk)
    if response.status_code == 400:
        assert (saved.participation_limit, saved.incentive_amount) == (
            study.participation_limit, study.incentive_amount)
    else:
        assert saved.participation_limit == services.parse_participation_limit(limit)
        assert saved.incentive_amount == services.parse_incentive_amount(incentive)
        study.participation_limit = saved.participation_limit
        study.incentive_amount = saved.incentive_amount


@settings(max_examples=examples(20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=junk, country=st.text(max_size=4))
def test_audience_forms_never_fail(client_for, researcher, study, minutes, country):
    client = client_for(researcher)
    response = client.post(reverse("studies:study_audience_settings", args=[study.id]),
                           {"audience_type": "b2c", "duration_minutes": minutes})
    assert response.status_code in (302, 400)
    response = client.post(reverse("studies:study_audience_location", args=[study.id]),
                           {"action": "add_country", "country": country})
    assert response.status_code in (302, 400)
    saved = Study.objects.get(pk=study.pk)
    assert 5 <= saved.duration_minutes <= 480
    assert all(len(code) == 2 for code in saved.countries)

"""Generated input against the booking endpoint and the Scheduling tab: never a 500."""

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling import services
from scheduling.models import Session

pytestmark = pytest.mark.django_db

JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
TIMES = st.one_of(st.text(max_size=40), st.datetimes().map(lambda d: d.isoformat()),
                  st.just("2026-06-01T14:00:00Z"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts_at=TIMES, extra=st.dictionaries(st.sampled_from(["action", "timezone"]), JSONISH,
                                              max_size=2))
def test_booking_json_never_fails_with_a_500(client, scheduling, invited, starts_at, extra):
    application = invited()
    url = reverse("scheduling:booking", kwargs={"token": services.booking_token_make(application)})
    body = {"startsAt": starts_at, **extra}
    response = client.post(url, data=json.dumps(body), content_type="application/json",
                           HTTP_ACCEPT="application/json")
    assert response.status_code in (200, 201, 400, 404, 409, 422)
    if response.status_code >= 400:
        assert "error" in response.json()
        assert not Session.objects.filter(application=application).exists()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(
    st.sampled_from(["time_zone", "start_date", "end_date", "hours_0_0_start",
                     "hours_0_0_end", "hours_3_1_start", "hours_3_1_end",
                     "buffer_minutes", "minimum_notice_minutes", "unavailable_dates",
                     "rolling_days", "meeting_url", "hosts"]),
    st.text(max_size=25), max_size=8))
def test_scheduling_tab_never_fails_with_a_500(client_for, researcher, scheduling, form):
    response = client_for(researcher).post(
        reverse("scheduling:study_scheduling", kwargs={"study_id": scheduling.study_id}), form)
    assert response.status_code in (302, 422)

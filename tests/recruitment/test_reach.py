"""Audience Reach: cached estimates, the stale value on failure, and the panel view."""

import json

import httpx
import pytest
from django.urls import reverse

from recruitment import reach as reach_module
from recruitment.reach import UNREACHABLE_EMPTY, UNREACHABLE_STALE, audience_reach
from recruitment.user_interviews.client import MEDIA_TYPE, UIClient
from tests.studies.factories import StudyFactory


def estimate_document(reach, feasibility="high", days=6, below=False):
    return {"data": {"id": "est_1", "type": "estimates", "attributes": {
        "reach": reach, "reachBelowThreshold": below, "feasibility": feasibility,
        "estimatedDaysToFill": days}}}


class FakeUI:
    """UI over a mock transport: answers with `answer` (a document or an exception)."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return httpx.Response(201, json=self.answer, headers={"Content-Type": MEDIA_TYPE})

    def client(self, workspace_id=None):
        return UIClient(base_url="http://ui.test/api", api_key="k", max_attempts=1,
                        transport=httpx.MockTransport(self), sleep=lambda seconds: None)


@pytest.fixture
def study(researcher):
    return StudyFactory(
        workspace=researcher.workspace, owner=researcher.user, name="Invoices",
        participation_limit=8, countries=["US"], duration_minutes=45,
        criteria=[{"characteristic": "age", "range": {"min": 25, "max": 40}}])


@pytest.fixture
def fake_ui(monkeypatch):
    """Point the reach panel at a FakeUI; set `.answer` to script it."""
    ui = FakeUI(estimate_document(12345))
    monkeypatch.setattr(reach_module, "reach_client", ui.client)
    return ui


def test_reach_asks_ui_with_the_study_audience(study, fake_ui):
    result = audience_reach(study=study)
    assert (result.reach, result.feasibility, result.estimated_days_to_fill) == (12345, "high", 6)
    assert not result.stale and not result.below_threshold
    sent = json.loads(fake_ui.requests[0].content)["data"]["attributes"]
    assert sent == {"audience": {"type": "b2c", "countries": ["US"], "usStates": [],
                                 "criteria": [{"characteristic": "age",
                                               "range": {"min": 25, "max": 40}}]},
                    "studyType": "interview", "numParticipants": 8, "durationMinutes": 45}


def test_cache_hit_makes_no_http_call(study, fake_ui):
    audience_reach(study=study)
    again = audience_reach(study=study)
    assert again.reach == 12345
    assert len(fake_ui.requests) == 1


def test_changing_the_audience_asks_again(study, fake_ui):
    audience_reach(study=study)
    study.countries = ["US", "CA"]
    audience_reach(study=study)
    assert len(fake_ui.requests) == 2


def test_unreachable_ui_keeps_the_last_value_marked_stale(study, fake_ui):
    audience_reach(study=study)
    study.countries = ["GB"]
    fake_ui.answer = httpx.ConnectTimeout("down")
    result = audience_reach(study=study)
    assert (result.reach, result.stale, result.message) == (12345, True, UNREACHABLE_STALE)


def test_unreachable_ui_without_history_says_so(study, fake_ui):
    fake_ui.answer = httpx.ConnectError("down")
    result = audience_reach(study=study)
    assert (result.reach, result.message) == (None, UNREACHABLE_EMPTY)


def test_a_stale_answer_is_not_cached_as_fresh(study, fake_ui):
    fake_ui.answer = httpx.ConnectError("down")
    audience_reach(study=study)
    fake_ui.answer = estimate_document(500)
    assert audience_reach(study=study).reach == 500


def test_panel_shows_number_feasibility_and_days(client_for, researcher, study, fake_ui):
    response = client_for(researcher).get(
        reverse("recruitment:audience_reach", kwargs={"study_id": study.pk}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Audience Reach" in body and "12,345" in body and "High" in body
    assert 'aria-live="polite"' in body and "htmx-indicator" in body
    assert "Estimated days to fill" in body and ">6<" in body


def test_panel_below_threshold_says_fewer_than_25(client_for, observer, study, fake_ui):
    fake_ui.answer = estimate_document(0, feasibility="infeasible", days=None, below=True)
    body = client_for(observer).get(
        reverse("recruitment:audience_reach", kwargs={"study_id": study.pk})).content.decode()
    assert "Fewer than 25 people match" in body and "Infeasible" in body


def test_panel_when_ui_is_down_still_renders_with_the_message(client_for, researcher, study,
                                                              fake_ui):
    audience_reach(study=study)
    study.countries = ["GB"]
    study.save(update_fields=["countries"])
    fake_ui.answer = httpx.ReadTimeout("slow")
    response = client_for(researcher).get(
        reverse("recruitment:audience_reach", kwargs={"study_id": study.pk}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "12,345" in body
    assert "User Interviews can&#x27;t be reached right now — showing the last estimate" in body


def test_panel_of_another_workspace_is_404(client_for, outsider, study, fake_ui):
    response = client_for(outsider).get(
        reverse("recruitment:audience_reach", kwargs={"study_id": study.pk}))
    assert response.status_code == 404
    assert fake_ui.requests == []


def test_panel_requires_sign_in(client, study, fake_ui):
    response = client.get(reverse("recruitment:audience_reach", kwargs={"study_id": study.pk}))
    assert response.status_code == 302

"""Participants see the participant-facing title and description, never the team's study
name: the Plan field, the public test page, and what User Interviews is sent."""

import pytest
from django.urls import reverse

from recruitment import workflows
from recruitment.handlers import recruit_attributes
from studies.models import Source, Status, StudyType
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db

INTERNAL = "Q3 churn (internal: Acme pricing push)"


@pytest.fixture
def live_test(workspace, researcher):
    return StudyFactory(workspace=workspace, owner=researcher.user, name=INTERNAL,
                        study_type=StudyType.UNMODERATED_TEST, source=Source.USER_INTERVIEWS,
                        status=Status.ACTIVE, public_title="Try our new checkout",
                        external_description="Buy a pair of shoes and tell us how it went.")


def test_plan_saves_the_participant_facing_title(client_for, researcher, study):
    save = reverse("recruitment:study_plan_save", args=[study.id])
    response = client_for(researcher).post(save, {
        "name": study.name, "study_type": study.study_type, "source": study.source,
        "public_title": "  Talk to us about onboarding ", "external_description": "",
        "participation_limit": "", "incentive_amount": ""})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.public_title == "Talk to us about onboarding"
    page = client_for(researcher).get(reverse("studies:study_plan", args=[study.id]))
    assert 'value="Talk to us about onboarding"' in page.content.decode()


def test_the_public_test_page_shows_the_participant_title_not_the_name(client, live_test):
    html = client.get(reverse("studies:test_take", args=[live_test.id])).content.decode()
    assert "<title>Try our new checkout" in html
    assert "<h1>Try our new checkout</h1>" in html
    assert "Buy a pair of shoes" in html
    assert "Q3 churn" not in html and "internal" not in html.lower().replace("internal_", "")


def test_without_a_participant_title_participants_see_a_neutral_one(client, live_test):
    live_test.public_title = ""
    live_test.save()
    html = client.get(reverse("studies:test_take", args=[live_test.id])).content.decode()
    assert "<h1>Research study</h1>" in html and "Q3 churn" not in html


def test_user_interviews_gets_the_participant_title(live_test):
    attributes = recruit_attributes(live_test)
    assert attributes["public_title"] == "Try our new checkout"
    assert attributes["internal_name"] == INTERNAL


def test_copies_keep_the_participant_title(researcher, live_test):
    copy = workflows.study_copy(kind="duplicate", membership=researcher, study=live_test,
                                name="Round 2")
    assert copy.public_title == "Try our new checkout"

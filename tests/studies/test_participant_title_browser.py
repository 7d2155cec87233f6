"""In Chromium: the public test page is titled with the participant-facing title."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studies.models import Source, Status, StudyType
from tests.e2e import flow
from tests.screenshots import screenshot
from tests.studies.factories import StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_test_page_shows_only_what_participants_should_see(live_server, page, workspace,
                                                                  researcher):
    study = StudyFactory(workspace=workspace, owner=researcher.user,
                         name="Q3 churn (internal: pricing push)",
                         study_type=StudyType.UNMODERATED_TEST, source=Source.USER_INTERVIEWS,
                         status=Status.ACTIVE, public_title="Try our new checkout",
                         external_description="Buy a pair of shoes and tell us how it went.")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + reverse("studies:test_take", args=[study.id]))
    expect(page).to_have_title("Try our new checkout · Rally")
    expect(page.get_by_role("heading", level=1)).to_have_text("Try our new checkout")
    expect(page.get_by_text("Buy a pair of shoes and tell us how it went.")).to_be_visible()
    expect(page.get_by_text("Q3 churn")).to_have_count(0)
    screenshot(page, "test-page", widths=(1366, 390))


def test_the_plan_asks_for_the_participant_facing_title(live_server, page, researcher, study):
    import re

    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, researcher)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(live_server.url + reverse("studies:study_plan", args=[study.id]))
    title = page.get_by_label("Participant-facing title")
    expect(page.locator("#id_public_title_helptext")).to_contain_text(
        "without this title participants see “Research study”")
    title.fill("Talk to us about onboarding")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_text("Saved the plan.")).to_be_visible()
    expect(page.get_by_label("Participant-facing title")).to_have_value(
        "Talk to us about onboarding")
    study.refresh_from_db()
    assert study.public_title == "Talk to us about onboarding"
    screenshot(page, "plan", widths=(1366, 390))

"""A researcher plans, targets and publishes a User Interviews interview in Chromium."""

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from studies.models import Status, Study
from tests.e2e import flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def _swap(page, path):
    """Wait until the htmx request to `path` made inside the block has been swapped in."""
    with page.expect_response(lambda response: response.url.endswith(path)):
        yield
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_researcher_creates_targets_and_publishes_a_b2b_interview(live_server, page,
                                                                 researcher, catalog):
    flow.sign_in(page, live_server, researcher)

    page.get_by_role("link", name="Studies", exact=True).click()
    page.get_by_role("button", name="New study").click()
    page.get_by_role("menuitem", name="From scratch").click()
    page.get_by_label("Study name").fill("Engineering onboarding interviews")
    expect(page.get_by_label("Interview", exact=True)).to_be_checked()
    expect(page.get_by_label("User Interviews")).to_be_checked()
    page.get_by_role("button", name="Create study").click()

    # Plan: the estimated cost follows the fields as they are typed (B2C interview: $39 fee).
    expect(page.get_by_role("heading", name="Engineering onboarding interviews")).to_be_visible()
    expect(page.get_by_label("Consent form")).to_be_disabled()
    page.get_by_label("External study description").fill(
        "Tell us how your team onboards new engineers.")
    page.get_by_label("Participation limit").fill("6")
    page.get_by_label("Incentive amount").fill("80")
    cost = page.locator("#plan-cost")
    expect(cost).to_contain_text("$714.00")
    expect(cost).to_contain_text("6 \u00d7 $39.00 = $234.00")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_text("Saved the plan.")).to_be_visible()

    # Audience: B2B, two states, one Advanced Professional criterion.
    page.get_by_role("link", name="Audience", exact=True).click()
    page.get_by_label("Industry professionals (B2B)").check()
    with _swap(page, "audience/settings/"):
        page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_role("status").filter(has_text="Saved the audience")).to_have_text(
        "Saved the audience: Industry professionals (B2B), 60 minutes.")
    expect(page.get_by_text("Needed to publish: Industry professionals (B2B) audiences")
           ).to_be_visible()
    with _swap(page, "audience/location/"):
        page.get_by_label("State", exact=True).check()
    page.get_by_label("California", exact=True).check()
    page.get_by_label("New York", exact=True).check()
    with _swap(page, "audience/location/"):
        page.get_by_role("button", name="Save states").click()
    expect(page.get_by_label("New York", exact=True)).to_be_checked()
    page.get_by_label("Search criteria").fill("engin")
    expect(page.locator("#criteria-results")).not_to_contain_text("Browsers")
    page.get_by_label("Engineering", exact=True).check()
    page.get_by_role("button", name="Apply criteria").click()
    chip_x = page.get_by_role("button", name="Remove Job function")
    expect(chip_x).to_be_visible()
    expect(page.locator("#audience-side")).to_contain_text("$870.00")  # B2B: 6 x ($65 + $80)
    expect(page.get_by_role("heading", name="Audience Reach")).to_be_visible()

    # Publish from the overview.
    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("button", name="Publish Study").click()
    expect(page.locator(".study-header .badge")).to_have_text("Active")
    expect(page.get_by_role("button", name="Change status")).to_be_visible()
    expect(page.get_by_text(re.compile("United States: California, New York"))).to_be_visible()

    study = Study.objects.get(name="Engineering onboarding interviews")
    assert study.status == Status.ACTIVE
    assert study.us_states == ["CA", "NY"]
    assert study.criteria == [{"characteristic": "job-function", "values": ["engineering"]}]
    assert study.recruitment_started_at is None


def test_admin_closes_a_study_through_the_menu_and_its_confirmation(live_server, page, admin,
                                                                   ready_study):
    ready_study.status = Status.ACTIVE
    ready_study.save()
    flow.sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/studies/{ready_study.id}/")

    menu_button = page.get_by_role("button", name="Change status")
    menu_button.focus()
    page.keyboard.press("ArrowDown")  # opens the menu on its first item
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("menuitem", name="Paused")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu_button).to_be_focused()
    expect(page.get_by_role("menu")).to_be_hidden()

    menu_button.click()
    page.get_by_role("menuitem", name="Closed").click()
    dialog = page.get_by_role("dialog", name=f"Close “{ready_study.name}”?")
    expect(dialog).to_contain_text("Closing is final")
    dialog.get_by_role("button", name="Keep it open").click()
    expect(dialog).to_be_hidden()
    ready_study.refresh_from_db()
    assert ready_study.status == Status.ACTIVE

    menu_button.click()
    page.get_by_role("menuitem", name="Closed").click()
    dialog.get_by_role("button", name="Close study").click()
    expect(page.locator(".study-header .badge")).to_have_text("Closed")
    expect(page.get_by_role("button", name="Change status")).to_have_count(0)
    ready_study.refresh_from_db()
    assert ready_study.status == Status.CLOSED

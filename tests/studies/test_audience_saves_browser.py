"""The Audience tab in Chromium: choosing a type saves nothing until "Save audience", which
then says what it saved; a B2C audience is told which professional criteria are B2B's."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_audience_saves_with_its_button_and_says_so(live_server, page, researcher, study,
                                                    catalog):
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, researcher)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(f"{live_server.url}/studies/{study.id}/audience/")
    expect(page.locator("#b2b-only-hint")).to_have_text(
        "Advanced Professional criteria for Industry professionals (B2B) audiences only: Job "
        "function, Industry. Choose Industry professionals (B2B) above to target by them.")
    page.get_by_label("Total participation time (minutes)").fill("45")
    page.get_by_label("Industry professionals (B2B)").check()
    page.wait_for_timeout(300)  # nothing is sent on change any more
    study.refresh_from_db()
    assert (study.audience_type, study.duration_minutes) == ("b2c", 60)
    with page.expect_response(lambda response: "audience/settings/" in response.url):
        page.get_by_role("button", name="Save audience").click()
    expect(page.locator("#audience-saved")).to_have_text(
        "Saved the audience: Industry professionals (B2B), 45 minutes.")
    study.refresh_from_db()
    assert (study.audience_type, study.duration_minutes) == ("b2b", 45)
    expect(page.locator("#b2b-only-hint")).to_have_count(0)
    screenshot(page, "audience", widths=(1366, 390))

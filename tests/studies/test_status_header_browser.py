"""In Chromium: the Close dialog opens in place of the status menu (never over it), and a
closed study's header says Closed, not "Recruitment started"."""

import re

import pytest
from playwright.sync_api import expect

from rally import clock
from studies.models import Status, Study
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_close_dialog_replaces_the_menu_and_the_closed_header_says_closed(live_server, page,
                                                                         admin, ready_study):
    Study.objects.filter(pk=ready_study.pk).update(
        status=Status.ACTIVE, published_at=clock.now(), recruitment_started_at=clock.now())
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, admin)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(f"{live_server.url}/studies/{ready_study.id}/")
    meta = page.locator(".study-header__meta")
    expect(meta).to_contain_text("Recruitment started")

    page.get_by_role("button", name="Change status").click()
    page.get_by_role("menuitem", name="Closed…").click()
    dialog = page.get_by_role("dialog", name="Close “Onboarding interviews”?")
    expect(dialog).to_be_visible()
    expect(page.locator("#status-menu")).to_be_hidden()
    expect(page.get_by_role("button", name="Change status")).to_have_attribute(
        "aria-expanded", "false")
    screenshot(page, "close-dialog", widths=(1366, 390))
    dialog.get_by_role("button", name="Close study").click()

    expect(page.locator(".study-header .badge")).to_have_text("Closed")
    expect(meta).not_to_contain_text("Recruitment started")
    expect(page.get_by_role("link", name="Duplicate study")).to_be_visible()
    expect(page.get_by_role("link", name="Save as template")).to_be_visible()
    screenshot(page, "closed-study", widths=(1366, 390))

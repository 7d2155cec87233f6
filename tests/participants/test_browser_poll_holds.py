"""The Participants table polls every 3 s while an operation is pending, but never under
the person using it: an open row menu or the Reject dialog with a half-typed reason stays
(focus too) until they are done; then the next poll brings the news."""

import pytest
from playwright.sync_api import expect

from rally.models import OutboxOperation
from tests.participants.factories import StudyFactory
from tests.participants.test_browser_review import _generate, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_AND_SWAP_MS = 4500  # longer than the table's 3 s poll and its answer


@pytest.fixture
def pending_page(live_server, page, researcher, workspace):
    """The Participants tab with Ada0's invitation still on its way to UI (polling)."""
    study = StudyFactory(workspace=workspace, owner=researcher.user, participation_limit=20,
                         name="Developer onboarding interviews")
    _generate(study, 6)
    _log_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.id}/participants/")
    page.get_by_role("button", name="Actions for Ada0 Q.").click()
    page.get_by_role("menuitem", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text("Invited Ada0 Q.")
    row = page.locator("tr", has_text="Ada0 Q.")
    expect(row).to_contain_text("Sending to User Interviews…")
    expect(page.locator("#applicants-table[data-poll-holds]")).to_have_count(1)
    return page, row


def _sent():
    assert OutboxOperation.objects.filter(operation="approve_applicant").update(
        status="done") == 1


def test_an_open_row_menu_survives_the_poll_and_keeps_focus(pending_page):
    page, row = pending_page
    page.get_by_role("button", name="Actions for Ben1 Q.").click()
    item = page.get_by_role("menuitem", name="View profile")
    expect(item).to_be_focused()
    _sent()  # the next poll's answer would differ
    page.wait_for_timeout(POLL_AND_SWAP_MS)
    expect(item).to_be_visible()
    expect(item).to_be_focused()
    expect(page.get_by_role("button", name="Actions for Ben1 Q.")).to_have_attribute(
        "aria-expanded", "true")
    expect(row).to_contain_text("Sending to User Interviews…")  # not replaced meanwhile
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Actions for Ben1 Q.")).to_be_focused()
    expect(row).to_contain_text("Sent to User Interviews", timeout=8000)
    expect(page.get_by_role("button", name="Actions for Ben1 Q.")).to_be_focused()


def test_a_half_typed_rejection_reason_survives_the_poll(pending_page):
    page, row = pending_page
    page.get_by_role("button", name="Actions for Ben1 Q.").click()
    page.get_by_role("menuitem", name="Reject").click()
    dialog = page.get_by_role("dialog", name="Reject Ben1 Q.?")
    reason = dialog.get_by_label("Reason (optional)")
    reason.fill("Not onboarding anyone")
    _sent()
    page.wait_for_timeout(POLL_AND_SWAP_MS)
    expect(dialog).to_be_visible()
    expect(reason).to_have_value("Not onboarding anyone")
    expect(reason).to_be_focused()
    expect(row).to_contain_text("Sending to User Interviews…")  # not replaced meanwhile
    reason.press_sequentially(" this year")
    dialog.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected Ben1 Q.")
    expect(page.locator("tr", has_text="Ben1 Q.").locator(".badge")).to_have_text("Rejected")
    from participants.models import Application

    assert Application.objects.get(ui_applicant_id="gen-app-1").rejection_reason == (
        "Not onboarding anyone this year")

"""A researcher reviews generated applicants in Chromium: the Participants tab, a profile,
one invite from the row menu, one rejection with a reason, and a bulk rejection."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from participants.models import Application, Participant
from rally import clock
from rally.models import OutboxOperation
from tests.e2e import flow
from tests.participants.factories import StudyFactory
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _generate(study, count):
    now = clock.now()
    names = ["Ada", "Ben", "Cleo", "Dev", "Eun", "Finn", "Gia", "Hal", "Ivy", "Jay"]
    people = Participant.objects.bulk_create([
        Participant(workspace=study.workspace, ui_participant_id=f"gen-{n}",
                    first_name=f"{names[n % len(names)]}{n}", last_initial="Q",
                    created_at=now, updated_at=now) for n in range(count)])
    statuses = ["applied"] * 6 + ["unqualified", "scheduled", "rejected", "completed"]
    Application.objects.bulk_create([
        Application(study=study, participant=person, ui_applicant_id=f"gen-app-{n}",
                    status=statuses[n % len(statuses)], screener_version=1,
                    source="direct_link" if n % 7 == 0 else "user_interviews",
                    applied_at=now - timedelta(minutes=7 * n), created_at=now, updated_at=now,
                    matched_criteria=[{"characteristic": "job_function",
                                       "values": ["engineering"]}] * (n % 3),
                    screener_responses=[{"questionUid": "q1", "text": f"Answer {n}"}])
        for n, person in enumerate(people)])


def _log_in(page, live_server, membership):
    page.set_viewport_size({"width": 1280, "height": 900})
    flow.sign_in(page, live_server, membership)


def test_researcher_invites_one_rejects_one_with_a_reason_and_rejects_in_bulk(
        live_server, page, researcher, workspace):
    study = StudyFactory(workspace=workspace, owner=researcher.user, participation_limit=20,
                         name="Developer onboarding interviews")
    _generate(study, 60)
    _log_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.id}/")
    page.get_by_role("navigation", name="Study sections").get_by_role(
        "link", name="Participants", exact=True).click()
    expect(page.get_by_role("heading", name="Participants")).to_be_visible()
    expect(page.locator("#seat-count")).to_contain_text("12 of 20 seats taken")
    screenshot(page, "participants-tab")

    # Filter to Applied; the newest first.
    page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name="Applied").click()
    expect(page.locator("tbody tr")).to_have_count(36)
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Ada0 Q.")

    # Invite from the row's three-dots menu, with the keyboard.
    menu = page.get_by_role("button", name="Actions for Ada0 Q.")
    menu.focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="View profile")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Invite")).to_be_focused()
    screenshot(page, "row-menu")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Invited Ada0 Q.")
    expect(page.locator("#seat-count")).to_contain_text("13 of 20 seats taken")
    # pending → done once the outbox row is done (the list polls while anything is pending)
    page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name="All").click()
    invited_row = page.locator("tr", has_text="Ada0 Q.")
    expect(invited_row).to_contain_text("Sending to User Interviews…")
    expect(invited_row.locator(".badge")).to_have_text("Invited")
    OutboxOperation.objects.filter(operation="approve_applicant").update(status="done")
    expect(invited_row).to_contain_text("Sent to User Interviews", timeout=8000)

    # Open a profile; reject with a reason from its dialog.
    page.get_by_role("link", name="Ben1 Q.").click()
    expect(page.get_by_role("heading", name="Ben1 Q.")).to_be_visible()
    expect(page.get_by_text("Answer 1")).to_be_visible()
    expect(page.get_by_role("link", name="Next applicant")).to_be_visible()
    screenshot(page, "profile")
    page.get_by_role("link", name="Reject", exact=True).click()
    dialog = page.get_by_role("dialog", name="Reject Ben1 Q.?")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason (optional)").fill("Not onboarding anyone this year")
    screenshot(page, "reject-dialog")
    dialog.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected Ben1 Q.")
    expect(page.locator(".profile-head .badge")).to_have_text("Rejected")
    expect(page.get_by_text("Rejected: Not onboarding anyone this year")).to_be_visible()
    application = Application.objects.get(ui_applicant_id="gen-app-1")
    assert (application.status, application.rejection_reason) == (
        "rejected", "Not onboarding anyone this year")

    # Back to the list: bulk-reject two applicants through the confirmation dialog.
    page.get_by_role("link", name="← All applicants").click()
    page.get_by_label("Select Cleo2 Q.").check()
    page.get_by_label("Select Dev3 Q.").check()
    page.get_by_role("button", name="Reject selected…").click()
    bulk = page.get_by_role("dialog", name="Reject the selected applicants?")
    expect(bulk).to_be_visible()
    bulk.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected 2 applicants.")
    expect(page.locator("tr", has_text="Cleo2 Q.").locator(".badge")).to_have_text("Rejected")
    expect(page.locator("tr", has_text="Dev3 Q.").locator(".badge")).to_have_text("Rejected")
    screenshot(page, "after-review")

    # Sorting by name keeps the filter and marks the column.
    page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name="Rejected").click()
    page.get_by_role("link", name="Name").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    expect(page.locator("tbody tr")).to_have_count(9)
    expect(page.locator("tbody tr").first).to_contain_text("Ben1 Q.")

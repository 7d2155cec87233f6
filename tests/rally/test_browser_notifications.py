"""In Chromium: the bell counts unread notifications, the list opens one where the work is,
Account settings saves a time zone picked by typing; at 1366 and 390 px, console clean."""

import pytest
from playwright.sync_api import expect

from rally import notifications
from rally.models import NotificationKind
from tests.e2e import flow
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.screenshots import screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1366, 390])
def test_bell_list_and_account_settings(live_server, page, workspace, researcher, width):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    study = StudyFactory(workspace=workspace, owner=researcher.user, name="Onboarding")
    ApplicationFactory(study=study)
    for text in ("Jordan P. booked a session of “Onboarding” for {when}",
                 "“Onboarding” reached its participation limit: all 5 seats are taken"):
        notifications.notify(workspace=workspace, kind=NotificationKind.SESSION_BOOKED,
                             recipients=[researcher], text=text,
                             link=f"/studies/{study.pk}/",
                             data={"when": "2026-12-08T13:30:00+00:00"})
    flow.sign_in(page, live_server, researcher)
    bell = page.get_by_role("link", name="Notifications 2 unread")
    expect(bell).to_be_visible()
    screenshot(page, f"dashboard-{width}")
    bell.click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    # New York is the default zone: 13:30 UTC reads 8:30 AM EST.
    expect(page.locator(".notification__headline", has_text="for Tue, Dec 8, 8:30 AM EST")
           ).to_be_visible()
    screenshot(page, f"notifications-{width}")
    page.get_by_role("button", name="Unread: Jordan P. booked a session").click()
    page.wait_for_url(f"{live_server.url}/studies/{study.pk}/")
    expect(page.get_by_role("link", name="Notifications 1 unread")).to_be_visible()

    page.goto(f"{live_server.url}/account/")
    page.get_by_role("combobox", name="Time zone").fill("Europe/Ber")
    page.get_by_role("combobox", name="Time zone").fill("Europe/Berlin")
    page.get_by_role("button", name="Save name and time zone").click()
    expect(page.get_by_text("Your name and time zone were saved.")).to_be_visible()
    expect(page.get_by_role("combobox", name="Time zone")).to_have_value("Europe/Berlin")
    page.get_by_role("group", name="New applicants to review").get_by_label(
        "Daily digest").check()
    page.get_by_role("button", name="Save notification preferences").click()
    expect(page.get_by_role("group", name="New applicants to review").get_by_label(
        "Daily digest")).to_be_checked()
    screenshot(page, f"account-settings-{width}")
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator(".notification__headline", has_text="for Tue, Dec 8, 2:30 PM CET")
           ).to_be_visible()
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert problems == []

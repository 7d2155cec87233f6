"""The console in Chromium: the buttons a person demos the integration with."""

import pytest

from sandbox.models import Applicant
from tests.sandbox.factories import RecruitFactory
from tests.screenshots import screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_console_review_generate_and_advance_the_clock(page, live_server):
    recruit = RecruitFactory(status="pending_review", internal_name="Budgeting interviews")
    page.goto(f"{live_server.url}/sandbox/")
    row = page.get_by_role("row", name="Budgeting interviews")
    row.get_by_role("button", name="Approve review").click()
    page.get_by_role("status").get_by_text("Review finished.").wait_for()
    page.get_by_label("Number of applicants for Budgeting interviews").fill("3")
    page.get_by_role("row", name="Budgeting interviews").get_by_role(
        "button", name="Generate applicants").click()
    page.get_by_text("3 applicant(s) arrived.").wait_for()
    assert Applicant.objects.filter(recruit=recruit).count() == 3
    assert page.get_by_role("heading", name="Applicants").is_visible()
    page.get_by_label("Advance the clock (hours)").fill("24")
    page.get_by_role("button", name="Advance clock").click()
    page.get_by_text("24 h ahead of the wall clock").wait_for()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_console_shows_the_booking_link_of_an_approved_applicant(page, live_server):
    from playwright.sync_api import expect

    from tests.sandbox.factories import ApplicantFactory

    recruit = RecruitFactory(status="recruiting", internal_name="Budgeting interviews")
    link = f"{live_server.url}/book/budgeting?token=priya"
    ApplicantFactory(recruit=recruit, first_name="Priya", last_initial="K", status="approved",
                     invitation_url=link)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/sandbox/")
    booking = page.get_by_role("link", name="Booking link of Priya K.")
    expect(booking).to_have_attribute("href", link)
    expect(page.get_by_role("row", name="Priya K.")).to_contain_text(link)
    screenshot(page, "sandbox-console", widths=(1366, 390))

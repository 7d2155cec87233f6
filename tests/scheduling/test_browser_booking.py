"""A participant books, reschedules and cancels in Chromium, in their own time zone."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from scheduling import services
from scheduling.models import Session
from tests.e2e import flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # A British browser: the slots read on a 24-hour clock.
    return {**browser_context_args, "timezone_id": "Asia/Tokyo", "locale": "en-GB"}


def test_an_american_browser_reads_the_slots_on_a_12_hour_clock(live_server, browser,
                                                                 scheduling, invited):
    context = browser.new_context(locale="en-US", timezone_id="Asia/Tokyo")
    page = context.new_page()
    url = live_server.url + reverse("scheduling:booking",
                                    kwargs={"token": services.booking_token_make(invited())})
    page.goto(url)
    page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
    page.get_by_role("group", name="Monday 1 June 2026").get_by_label("11:00 PM").check()
    # Another zone applies on change (htmx swaps the page's main part), on the same clock.
    page.get_by_label("Your time zone").select_option("America/New_York")
    page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
    page.get_by_role("group", name="Monday 1 June 2026").get_by_label("10:00 AM").check()
    expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    context.close()


def test_participant_books_reschedules_and_cancels_in_their_zone(live_server, page, scheduling,
                                                                 invited):
    application = invited()
    url = live_server.url + reverse("scheduling:booking",
                                    kwargs={"token": services.booking_token_make(application)})
    page.goto(url)
    page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))  # the browser's zone was detected
    assert page.get_by_label("Your time zone").input_value() == "Asia/Tokyo"
    # 10:00 New York on Monday 1 June is 23:00 in Tokyo the same day
    page.get_by_role("group", name="Monday 1 June 2026").get_by_label("23:00").check()
    page.get_by_role("button", name="Book").click()
    page.get_by_text("Your session is booked.").wait_for()
    assert "23:00" in page.get_by_role("region", name="Booked").inner_text()
    assert Session.objects.get().participant_time_zone == "Asia/Tokyo"

    page.get_by_role("link", name="Reschedule").click()
    page.get_by_role("group", name="Tuesday 2 June 2026").get_by_label("00:00").check()
    page.get_by_role("button", name="Reschedule").click()
    page.get_by_text("Your session is moved.").wait_for()

    page.get_by_role("button", name="Cancel session").click()
    page.get_by_role("dialog", name="Cancel your session?").get_by_role(
        "button", name="Confirm").click()
    page.get_by_text("Your session is canceled.").wait_for()
    assert Session.objects.get().status == Session.Status.CANCELED


def test_host_sees_the_booking_without_email_and_marks_it_completed_after_a_reschedule(
        live_server, page, scheduling, invited, researcher, frozen_clock):
    from datetime import UTC, datetime

    application = invited()
    name = application.participant.display_name
    url = live_server.url + reverse("scheduling:booking",
                                    kwargs={"token": services.booking_token_make(application)})
    page.goto(url)
    page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
    page.get_by_role("group", name="Monday 1 June 2026").get_by_label("23:00").check()
    page.get_by_role("button", name="Book").click()
    page.get_by_text("Your session is booked.").wait_for()
    page.get_by_role("link", name="Reschedule").click()
    page.get_by_role("group", name="Tuesday 2 June 2026").get_by_label("00:00").check()
    page.get_by_role("button", name="Reschedule").click()
    page.get_by_text("Your session is moved.").wait_for()

    # The host (the study's owner) signs in and finds the session, with no email shown.
    flow.sign_in(page, live_server, researcher)
    tab = live_server.url + reverse("scheduling:study_scheduling",
                                    kwargs={"study_id": application.study_id})
    page.goto(tab)
    row = page.get_by_role("row").filter(has_text=name)
    assert "11:00" in row.inner_text()  # 00:00 Tokyo is 11:00 the day before in New York
    assert "@" not in row.inner_text()

    # After the session's end (11:00–12:00 New York = 16:00 UTC) the host marks it Completed.
    frozen_clock.move_to(datetime(2026, 6, 1, 16, 30, tzinfo=UTC))
    page.goto(tab)
    page.get_by_role("button", name=f"Mark {name}'s session Completed").click()
    page.get_by_role("row").filter(has_text=name).get_by_text("Completed").wait_for()
    assert Session.objects.get().status == Session.Status.COMPLETED

"""A host connects their calendar feed in Chromium; their meeting leaves the booking page."""

import pytest
from django.urls import reverse

from scheduling import host_calendars, ics, services
from tests.e2e import flow
from tests.scheduling.calendar_servers import FeedServer, vcalendar, vevent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Monday 1 June 2026, 14:00-15:00 in New York (the host's zone).
MEETING = vcalendar(vevent("design-review", "SUMMARY:Design review",
                           "DTSTART:20260601T180000Z", "DTEND:20260601T190000Z"))


@pytest.fixture
def browser_context_args(browser_context_args):
    # A British browser: the booking page's slots read on a 24-hour clock ("14:00").
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """The worker, inline: the calendar is read as soon as it is connected."""
    from rally.celery import app

    def send_task(name, args=(), **kwargs):
        if name == host_calendars.SYNC_TASK:
            host_calendars.host_calendar_sync(calendar_id=args[0])
        elif name == "scheduling.session_invite_send":
            ics.session_invite_send(session_id=args[0])

    monkeypatch.setattr(app, "send_task", send_task)


def test_a_host_connects_a_feed_and_its_meeting_is_no_longer_offered(live_server, page,
                                                                      researcher, scheduling,
                                                                      invited):
    booking = live_server.url + reverse(
        "scheduling:booking", kwargs={"token": services.booking_token_make(invited())})
    monday = page.get_by_role("group", name="Monday 1 June 2026")
    page.goto(booking + "?tz=America/New_York")
    assert monday.get_by_label("14:00").count() == 1

    flow.sign_in(page, live_server, researcher)
    page.get_by_label(f"Account menu for {researcher.user.display_name}").click()
    page.get_by_role("link", name="Your calendar").click()
    with FeedServer(MEETING) as feed:
        page.get_by_label("Calendar feed (a secret iCal address)").check()
        page.get_by_label("Calendar feed address").fill(feed.url)
        page.get_by_role("button", name="Connect calendar").click()
        page.get_by_text("Calendar connected. Rally is reading it now.").wait_for()
    status = page.get_by_role("region", name="Connected calendar")
    assert "Connected" in status.inner_text() and "1 ahead" in status.inner_text()

    page.goto(booking + "?tz=America/New_York")
    for busy in ("13:30", "14:00", "14:30"):
        assert monday.get_by_label(busy).count() == 0, busy
    assert monday.get_by_label("13:00").count() == 1
    assert monday.get_by_label("15:00").count() == 1

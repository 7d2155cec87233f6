"""The Scheduling tab in Chromium: the status cell keeps Completed, No-show and ⋯ on one
line; weekly hours are time inputs per day; the time zone is typed with suggestions."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from scheduling import services
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def test_scheduling_tab_status_buttons_hours_and_zone(live_server, page, scheduling, invited,
                                                      admin, frozen_clock):
    study = scheduling.study
    study.team.add(admin.user)
    application = invited()
    services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(application)), starts_at=TEN_NY)
    frozen_clock.move_to(datetime(2026, 6, 1, 16, 30, tzinfo=UTC))
    name = application.participant.display_name

    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, admin)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(live_server.url + reverse("scheduling:study_scheduling",
                                        kwargs={"study_id": study.id}))

    completed = page.get_by_role("button", name=f"Mark {name}'s session Completed")
    no_show = page.get_by_role("button", name=f"Mark {name}'s session No-show")
    tops = {round(button.bounding_box()["y"]) for button in (completed, no_show)}
    menu = page.get_by_role("button", name=f"Actions for {name}")
    if menu.count():
        tops.add(round(menu.bounding_box()["y"]))
    assert len(tops) == 1, tops  # one line

    monday = page.get_by_role("group", name="Monday")
    expect(monday.get_by_label("Monday, range 1, from")).to_have_value("09:00")
    expect(monday.get_by_label("Monday, range 1, until")).to_have_value("17:00")
    monday.get_by_label("Monday, range 1, until").fill("12:00")
    monday.get_by_label("Monday, range 2, from").fill("13:00")
    monday.get_by_label("Monday, range 2, until").fill("17:30")
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_attribute("list", re.compile("zones"))
    zone.fill("europe/berlin")
    screenshot(page, "scheduling-form-1366")
    page.get_by_role("button", name="Save scheduling").click()
    expect(page.get_by_text("Scheduling settings saved.")).to_be_visible()
    scheduling.refresh_from_db()
    assert scheduling.time_zone == "Europe/Berlin"
    assert scheduling.weekly_hours["0"] == [["09:00", "12:00"], ["13:00", "17:30"]]
    expect(page.get_by_role("group", name="Monday").get_by_label("Monday, range 3, from")
           ).to_have_value("")
    screenshot(page, "scheduling", widths=(1366, 390))

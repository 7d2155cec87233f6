"""Failure paths in Chromium (SPEC R2, R8, C3): User Interviews unreachable while a study
starts, a recruit UI declines, and two participants racing for one time."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Budget
from billing.selectors import budget_figures_for
from sandbox.models import Recruit
from scheduling.models import Session
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.long, pytest.mark.django_db(transaction=True)]


def available():
    budget = Budget.objects.get(name="Workspace Budget")
    return budget_figures_for([budget])[budget.pk].available


def test_ui_unreachable_during_start_shows_pending_and_recovers(e2e, worker, page, settings,
                                                                researcher, ops_manager):
    live = e2e
    study_id = flow.b2c_study_published(page, live, researcher, name="Checkout interviews",
                                        limit=2, incentive="40")
    flow.started_by(page, live, ops_manager, study_id, add_funds="158")
    assert available() == Decimal("0.00")  # 2 × ($39 + $40) reserved at once

    reachable = settings.UI_API_URL
    settings.UI_API_URL = "http://127.0.0.1:9/ui/api"  # nothing listens on the discard port
    worker.drain()
    page.reload()
    sync = page.locator("#sync-status")
    expect(sync).to_contain_text("Starting")
    expect(sync).to_contain_text("Tried 1 time; trying again automatically.")
    retry = sync.get_by_role("button", name=re.compile("Retry now"))
    expect(retry.first).to_be_visible()
    screenshot(page, "overview-ui-unreachable")
    assert not Recruit.objects.exists()

    # UI is back. The Ops Manager does not wait for the first row: "Retry now".
    settings.UI_API_URL = reachable
    with page.expect_response(lambda response: "/retry/" in response.url):
        retry.first.click()
    worker.drain()
    assert Recruit.objects.count() == 1
    # The create's success wakes the launch that waited for it; whether a worker has sent it
    # yet or beat's outbox sweeper sends it after its backoff, the study ends in review.
    flow.console_advance(page, live, 0.1)
    worker.beat("recruitment.outbox_sweep")
    page.goto(f"{live.url}/studies/{study_id}/")
    expect(sync).to_contain_text("In review at User Interviews")
    expect(sync).not_to_contain_text("Retry now")
    assert Recruit.objects.count() == 1
    assert available() == Decimal("0.00")


def test_declined_recruit_releases_the_funds_and_shows_why(e2e, worker, page, researcher,
                                                           ops_manager):
    live = e2e
    name = "Grocery delivery interviews"
    study_id = flow.b2c_study_published(page, live, researcher, name=name, limit=2,
                                        incentive="40")
    flow.started_by(page, live, ops_manager, study_id, add_funds="158")
    worker.drain()
    assert available() == Decimal("0.00")

    flow.console_review(page, live, name, outcome="Decline")
    worker.drain()
    page.goto(f"{live.url}/studies/{study_id}/")
    sync = page.locator("#sync-status")
    expect(sync).to_contain_text("Declined by User Interviews")
    expect(sync).to_contain_text("Declined by User Interviews' review.")
    money = page.locator("#money-panel")
    expect(money).to_contain_text("User Interviews declined the study.")
    expect(money).to_contain_text("The reserved $158.00 went back to Workspace Budget.")
    expect(page.get_by_role("link", name="Review & Start")).to_be_visible()  # may start again
    screenshot(page, "overview-declined")
    assert available() == Decimal("158.00")
    page.goto(f"{live.url}/budgets/")
    expect(page.get_by_role("row", name=re.compile("Workspace Budget"))).to_contain_text(
        "$158.00")


def test_the_second_of_two_people_booking_one_time_is_told_it_was_taken(
        e2e, worker, page, researcher, ops_manager):
    live = e2e
    name = "Password manager interviews"
    study_id = flow.b2c_study_published(page, live, researcher, name=name, limit=2,
                                        incentive="40")
    flow.started_by(page, live, ops_manager, study_id, add_funds="158")
    first, second = flow.applicants_invited(page, live, worker, researcher,
                                            study_id=study_id, name=name, count=2)
    links = flow.invitation_links()

    # Both open their booking pages and choose the same first time.
    other = page.context.new_page()
    chosen = []
    for person, tab in ((first, page), (second, other)):
        tab.goto(links[person])
        zone = tab.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
        expect(tab.get_by_label("Your time zone")).to_have_value(zone)
        slot = tab.locator("fieldset.slot-day").first.locator("label.slot").first
        chosen.append(slot.inner_text().strip())
        slot.locator("input").check()
    assert chosen[0] == chosen[1]
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("Your session is booked.")).to_be_visible()
    other.get_by_role("button", name="Book").click()
    expect(other.get_by_role("alert")).to_contain_text(
        "That time was just taken — here are the times still free.")
    expect(other.get_by_role("heading", name="Book your session")).to_be_visible()
    assert Session.objects.count() == 1
    # Choosing again works: the next free time books.
    other.locator("fieldset.slot-day").first.locator("label.slot input").first.check()
    other.get_by_role("button", name="Book").click()
    expect(other.get_by_text("Your session is booked.")).to_be_visible()
    assert Session.objects.count() == 2
    other.close()

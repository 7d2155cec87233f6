"""A researcher builds an Unmoderated Test's task list in Chromium (SPEC T1)."""

import pytest
from playwright.sync_api import expect

from studies.models import Source, StudyType
from tests.e2e import flow
from tests.screenshots import screenshot
from tests.studies.factories import StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _add(page, title, instructions):
    form = page.get_by_role("region", name="Add a task")
    form.get_by_label("Task title").fill(title)
    form.get_by_label("Instructions").fill(instructions)
    with page.expect_response(lambda response: "/test/tasks/" in response.url):
        form.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def test_researcher_adds_two_tasks_and_sees_them_in_order(live_server, page, researcher,
                                                          workspace):
    study = StudyFactory(workspace=workspace, owner=researcher.user, name="Checkout test",
                         study_type=StudyType.UNMODERATED_TEST, source=Source.USER_INTERVIEWS,
                         duration_minutes=15)
    page.set_viewport_size({"width": 1280, "height": 900})
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.id}/")
    page.get_by_role("link", name="Test", exact=True).click()
    expect(page.get_by_text("This test has no tasks yet")).to_be_visible()
    expect(page.get_by_text("15 minutes")).to_be_visible()

    _add(page, "Find running shoes", "Use the search, then a filter.")
    _add(page, "Check out as a guest", "Stop before paying.")
    tasks = page.locator("ol.test-tasks > li h3")
    expect(tasks).to_have_text(["1. Find running shoes", "2. Check out as a guest"])
    expect(page.get_by_role("button", name="Move up Find running shoes")).to_be_disabled()

    # Reorder with the keyboard-reachable buttons; the list is swapped in place.
    with page.expect_response(lambda response: "/move/" in response.url):
        page.get_by_role("button", name="Move up Check out as a guest").click()
    expect(tasks).to_have_text(["1. Check out as a guest", "2. Find running shoes"])

    # A bad URL is refused next to the field and nothing is lost.
    page.get_by_label("External test URL").fill("http://maze.co/t/1")
    with page.expect_response(lambda response: "/test/url/" in response.url):
        page.get_by_role("button", name="Save test URL").click()
    expect(page.get_by_text("The test URL was not saved")).to_be_visible()
    expect(page.get_by_label("External test URL")).to_have_value("http://maze.co/t/1")
    screenshot(page, "test_tab")

    page.reload()
    expect(tasks).to_have_text(["1. Check out as a guest", "2. Find running shoes"])

"""A researcher writes a screener with a skip in Chromium and previews it."""

import pytest
from playwright.sync_api import expect

from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _add(page, text, kind, options=""):
    form = page.get_by_role("region", name="Add a question")
    form.get_by_label("Question text").fill(text)
    form.get_by_label("Question type").select_option(label=kind)
    if options:
        form.get_by_label("Options").fill(options)
    with page.expect_response(lambda response: "/screener/questions/" in response.url):
        form.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("heading", name=text)).to_be_visible()


def test_researcher_adds_three_questions_sets_a_skip_and_previews_it(live_server, page,
                                                                     researcher, study):
    page.set_viewport_size({"width": 1280, "height": 900})
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.id}/screener/")
    expect(page.get_by_text("This screener has no questions yet")).to_be_visible()

    _add(page, "Do you manage a team?", "Single choice", "Yes\nNo")
    _add(page, "What is your job title?", "Short text")
    _add(page, "How many people report to you?", "Number")

    # A skip from "Yes" of the first question to the third.
    first = page.locator("li.question").nth(0)
    first.get_by_text("Edit").click()
    first.get_by_label("If the answer is “Yes”, go to").select_option(
        label="Question 3. How many people report to you?")
    expect(page.get_by_text("This question can be saved")).to_be_visible()  # live checks
    screenshot(page, "editor")
    with page.expect_response(lambda response: "/screener/questions/" in response.url):
        first.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("If “Yes”, skip to question 3. How many people report to you?")
           ).to_be_visible()
    expect(page.get_by_text("No problems: every question can be reached")).to_be_visible()
    expect(page.get_by_role("button", name="Move up Do you manage a team?")).to_be_disabled()
    screenshot(page, "builder")

    # Moving a question keeps the logic pointing forward; above its source it is refused.
    move_up = page.get_by_role("button", name="Move up How many people report to you?")
    with page.expect_response(lambda response: "/move/" in response.url):
        move_up.click()
    expect(page.locator("li.question h3").nth(1)).to_contain_text("How many people")
    expect(move_up).to_be_focused()
    with page.expect_response(lambda response: "/move/" in response.url):
        move_up.click()
    expect(page.get_by_role("alert")).to_contain_text("can't move up")
    expect(page.locator("li.question h3").nth(0)).to_contain_text("Do you manage a team?")
    with page.expect_response(lambda response: "/move/" in response.url):
        page.get_by_role("button", name="Move down How many people report to you?").click()
    expect(page.locator("li.question h3").nth(2)).to_contain_text("How many people")

    # Drag and drop reorders too (the job title question to the end, then back).
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.mouse.wheel(0, -5000)
    handle = page.locator(".question__handle").nth(1).bounding_box()
    target = page.locator("li.question").nth(2).bounding_box()
    with page.expect_response(lambda response: "/screener/order/" in response.url):
        page.mouse.move(handle["x"] + 4, handle["y"] + 6)
        page.mouse.down()
        page.mouse.move(handle["x"] + 10, handle["y"] + 30, steps=5)
        page.mouse.move(target["x"] + 40, target["y"] + target["height"] - 12, steps=10)
        page.mouse.up()
    expect(page.locator("li.question h3").nth(2)).to_contain_text("What is your job title?")
    with page.expect_response(lambda response: "/move/" in response.url):
        page.get_by_role("button", name="Move up What is your job title?").click()
    expect(page.locator("li.question h3").nth(1)).to_contain_text("What is your job title?")

    page.get_by_role("link", name="Preview as an applicant").click()
    expect(page.get_by_text("Question 1 of 3")).to_be_visible()
    page.get_by_role("radio", name="Yes").check()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="How many people report to you?")).to_be_visible()
    expect(page.get_by_text("Question 3 of 3")).to_be_visible()
    page.get_by_role("textbox", name="How many people report to you?").fill("6")
    screenshot(page, "preview")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="End of the screener")).to_be_visible()
    expect(page.get_by_text("What is your job title?")).to_have_count(0)

    page.get_by_role("link", name="Start over").click()
    page.get_by_role("radio", name="No").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("textbox", name="What is your job title?")).to_be_visible()

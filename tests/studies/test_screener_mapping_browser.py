"""In Chromium: a Yes/No question is saved to a Yes / no property, the hint says what that
does for User Interviews applicants, and a refused move names the questions by their text."""

import re

import pytest
from playwright.sync_api import expect

from rally.services import property_define
from studies.screeners.versions import screener_draft
from studies.screeners.writes import screener_question_add, screener_question_update
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _add(membership, study, text, kind, options=()):
    return screener_question_add(membership=membership, study=study, data={
        "text": text, "type": kind, "required": True,
        "options": [("", label) for label in options]})


def test_yes_no_maps_and_a_refused_move_names_questions(live_server, page, researcher,
                                                        study, workspace):
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    first = _add(researcher, study, "Do you manage a team?", "single_choice", ("Yes", "No"))
    _add(researcher, study, "What is your job title?", "short_text")
    third = _add(researcher, study, "How many people report to you?", "number")
    question = screener_draft(study)[0]
    yes = next(o["uid"] for o in question["options"] if o["label"] == "Yes")
    screener_question_update(membership=researcher, study=study, question_uid=first,
                                       data={"text": question["text"], "type": "single_choice",
                                             "help": "", "required": True,
                                             "options": [(o["uid"], o["label"]) for o in
                                                         question["options"]],
                                             "property": "", "skip": {yes: third},
                                             "show_if": []})
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, researcher)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(f"{live_server.url}/studies/{study.id}/screener/")

    card = page.locator("li.question").nth(0)
    card.get_by_text("Edit").click()
    select = card.get_by_label("Save the answer to a participant property")
    expect(card.get_by_text("Rally never uses it to email them or reach their calendar")
           ).to_be_visible()
    select.select_option(label="Manages a team (Yes / no)")
    screenshot(page, "screener-mapping-1366")
    with page.expect_response(lambda response: "/screener/questions/" in response.url):
        card.get_by_role("button", name="Save question").click()
    assert screener_draft(study)[0]["property"] == "manages_team"

    move_up = page.get_by_role("button", name="Move up How many people report to you?")
    with page.expect_response(lambda response: "/move/" in response.url):
        move_up.click()
    with page.expect_response(lambda response: "/move/" in response.url):
        move_up.click()
    expect(page.get_by_role("alert")).to_contain_text(
        "“How many people report to you?” can't move up: “Do you manage a team?”: the answer "
        "“Yes” jumps back to “How many people report to you?”; logic can never point "
        "backwards.")
    screenshot(page, "screener-refused", widths=(1366, 390))

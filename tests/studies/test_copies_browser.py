"""In Chromium: "New study" from a template shows its type and source, disabled with the
reason; "Duplicate study" and "Save as template" ask for the name in a dialog."""

import re

import pytest
from playwright.sync_api import expect

from studies.models import Source, Study, StudyType
from tests.e2e import flow
from tests.screenshots import screenshot
from tests.studies.factories import StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, membership):
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, membership)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()


def test_new_study_from_a_template_shows_its_type_disabled(live_server, page, researcher,
                                                           workspace):
    StudyFactory(workspace=workspace, owner=researcher.user, name="Group pattern",
                 study_type=StudyType.GROUP_INTERVIEW, source=Source.RALLY_PANEL,
                 is_template=True)
    _log_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/new/")
    page.get_by_label("Study name").fill("Checkout group sessions")
    expect(page.get_by_label("Group Interview")).to_be_enabled()
    page.get_by_label("Template: Group pattern").check()
    reason = page.locator("#template-settings-reason")
    expect(reason).to_have_text("Set by the template “Group pattern”: Group Interview, "
                                "recruiting from Rally panel. To choose another type or "
                                "source, start from scratch.")
    expect(page.get_by_label("Group Interview")).to_be_disabled()
    expect(page.get_by_label("Group Interview")).to_be_checked()
    expect(page.get_by_label("Rally panel")).to_be_checked()
    screenshot(page, "new-study-from-template", widths=(1366, 390))
    page.get_by_label("From scratch").check()
    expect(page.get_by_label("Survey")).to_be_enabled()
    page.get_by_label("Survey").check()
    expect(page.locator("#source-reason")).to_have_text(
        "Not available for a Survey. User Interviews recruits for Interview, Group Interview "
        "and Unmoderated Test studies only, not for Surveys.")
    expect(page.get_by_label("User Interviews")).to_be_disabled()
    page.get_by_label("Template: Group pattern").check()
    expect(page.get_by_label("Survey")).to_be_disabled()
    page.get_by_role("button", name="Create study").click()
    expect(page.get_by_text("Created “Checkout group sessions”")).to_be_visible()
    made = Study.objects.get(name="Checkout group sessions")
    assert (made.study_type, made.source) == (StudyType.GROUP_INTERVIEW, Source.RALLY_PANEL)


def test_duplicate_and_save_as_template_ask_for_the_name(live_server, page, researcher,
                                                         ready_study):
    _log_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{ready_study.id}/")
    page.get_by_role("link", name="Duplicate study").click()
    dialog = page.get_by_role("dialog", name="Duplicate study")
    name = dialog.get_by_label("Name of the new study")
    expect(name).to_have_value("Copy of Onboarding interviews")
    screenshot(page, "duplicate-dialog", widths=(1366, 390))
    name.fill("Onboarding interviews, round 2")
    dialog.get_by_role("button", name="Duplicate study").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Onboarding interviews, round 2")
    expect(page.get_by_text("Created “Onboarding interviews, round 2”, a copy of “Onboarding "
                            "interviews”.")).to_be_visible()
    copy = Study.objects.get(name="Onboarding interviews, round 2")
    assert copy.participation_limit == 8 and not copy.is_template

    page.get_by_role("link", name="Save as template").click()
    dialog = page.get_by_role("dialog", name="Save as template")
    dialog.get_by_label("Template name").fill("")
    dialog.get_by_role("button", name="Save template").click()
    # An empty name comes back on the page with the error summary naming the field.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Template name: Enter the template name.")
    screenshot(page, "save-as-template-error", widths=(1366, 390))
    page.get_by_label("Template name").fill("Engineers B2B pattern")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Saved the template “Engineers B2B pattern”.")).to_be_visible()
    assert Study.objects.get(is_template=True).name == "Engineers B2B pattern"
    page.goto(f"{live_server.url}/studies/?show=templates")
    expect(page.get_by_role("columnheader", name="Applicants")).to_have_count(0)
    screenshot(page, "templates-list", widths=(1366, 390))

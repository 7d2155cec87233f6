"""Recruiting from the panel in Chromium: import a CSV, filter the panel on the study's
"Invite from panel" tab, invite two people by email; one answers the hosted screener,
qualifies automatically and books a session."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from panel.models import PanelInvitation
from participants.models import Application
from rally.services import property_define
from scheduling.models import Session
from scheduling.services import scheduling_settings_ensure
from tests.e2e import flow
from tests.panel.factories import PanelStudyFactory, ScreenerQuestionFactory

CSV = ("Email,Name,Plan,Seats\n"
       "ada@example.com,Ada Lovelace,Pro,250\n"
       "bo@example.com,Bo Chen,Free,3\n"
       "di@example.com,Di Evans,Pro,40\n")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Asia/Tokyo"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_import_filter_invite_two_and_one_qualifies_and_books(live_server, page, settings,
                                                              workspace, ops_manager,
                                                              researcher, tmp_path):
    settings.RALLY_BASE_URL = live_server.url  # links in emails point at this server
    property_define(workspace=workspace, key="plan", label="Plan", type="single_select",
                    options=["Free", "Pro"])
    property_define(workspace=workspace, key="seats", label="Seats", type="number")
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                              name="Pro plan interviews", public_title="Pro plan interviews")
    ScreenerQuestionFactory(study=study, type="single_choice", text="Which plan are you on?",
                            position=0, options=[{"uid": "free", "label": "Free"},
                                                 {"uid": "pro", "label": "Pro"}],
                            auto_rules={"qualify": ["pro"], "disqualify": ["free"]})
    scheduling_settings_ensure(study=study)
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(CSV, encoding="utf-8")

    flow.sign_in(page, live_server, ops_manager)

    # Import the CSV through the panel's import pages.
    page.goto(f"{live_server.url}/participants/import/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Import 3 people").click()
    expect(page.get_by_role("status").first).to_contain_text("Imported 3 people")

    # Filter the panel on the study's tab and invite the two Pro customers.
    page.goto(f"{live_server.url}/studies/{study.id}/")
    page.get_by_role("navigation", name="Study sections").get_by_role(
        "link", name="Invite from panel").click()
    expect(page.locator("#panel-count")).to_contain_text("3 people match")
    page.get_by_label("Property", exact=True).select_option("plan")
    page.get_by_label("Condition").select_option("eq")
    page.get_by_label("Value", exact=True).fill("Pro")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#panel-count")).to_contain_text("2 people match")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).not_to_contain_text("Bo Chen")
    page.get_by_role("button", name="Invite 2 participants").click()
    expect(page.get_by_role("status").first).to_contain_text("Invited 2 participants by email.")
    assert PanelInvitation.objects.filter(study=study).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "di@example.com"]

    # Ada opens her email's link, qualifies through the screener and books a time.
    email = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    assert "Pro plan interviews" in email.subject
    link = re.search(r"http\S+/p/s/\S+/", email.body).group(0)
    page.context.clear_cookies()  # Ada is not signed in
    page.goto(link)
    expect(page.get_by_role("heading", name="Pro plan interviews")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Pro").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Thank you for applying")).to_be_visible()
    page.get_by_role("link", name="Choose a time").click()
    page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))  # the booking page took Ada's zone
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Book").click()
    page.get_by_text("Your session is booked.").wait_for()

    ada = Application.objects.get(study=study, participant__email="ada@example.com")
    assert ada.status == "scheduled" and ada.source == "rally_panel"
    assert Session.objects.filter(application=ada, status="upcoming").count() == 1
    assert not Application.objects.filter(participant__email="di@example.com").exists()
    page.goto(link)
    expect(page.get_by_role("heading", name="You have already applied")).to_be_visible()

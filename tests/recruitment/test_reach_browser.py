"""Audience Reach in Chromium: the Audience tab loads the panel from the sandbox over HTTP."""

import re

import pytest

from tests.e2e import flow
from tests.studies.factories import StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(researcher):
    return StudyFactory(
        workspace=researcher.workspace, owner=researcher.user, name="Invoices",
        participation_limit=8, countries=["US"], duration_minutes=45)


def test_audience_tab_shows_reach_from_the_sandbox(live_server, page, settings, researcher,
                                                   study):
    settings.UI_API_URL = f"{live_server.url}/sandbox/ui/api"
    settings.SANDBOX_API_KEYS = [settings.UI_API_KEY]
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.pk}/audience/")
    panel = page.get_by_role("region", name="Audience Reach")
    panel.get_by_text("People who match").wait_for()
    assert re.search(r"\d{1,3}(,\d{3})+", panel.inner_text())
    assert panel.get_by_text("Feasibility").is_visible()


def test_audience_tab_keeps_working_when_ui_is_down(live_server, page, settings, researcher,
                                                    study):
    settings.UI_API_URL = "http://127.0.0.1:9/ui/api"  # nothing listens on the discard port
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.pk}/audience/")
    panel = page.get_by_role("region", name="Audience Reach")
    panel.get_by_text("User Interviews can't be reached right now").wait_for()

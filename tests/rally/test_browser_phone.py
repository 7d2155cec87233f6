"""Phone width (SPEC N3): at 390 px a study's pages fit the screen — the tabs scroll in
their own row, the application link keeps a usable width — with a clean console."""

import pytest
from playwright.sync_api import expect

from rally import clock
from recruitment.models import Recruitment
from tests.e2e import flow
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.screenshots import screenshot

TABS = ["Overview", "Plan", "Audience", "Screener", "Scheduling", "Participants", "Activity"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_study_at_390_px(live_server, page, workspace, admin):
    study = StudyFactory(workspace=workspace, owner=admin.user, source="user_interviews",
                         study_type="interview",
                         name="Onboarding interviews for new engineering managers")
    now = clock.now()
    Recruitment.objects.create(study=study, state="recruiting", ui_recruit_id="rec_phone",
                               application_url="https://www.userinterviews.com/projects/"
                                               "abc123/apply", created_at=now, updated_at=now)
    for _ in range(3):
        ApplicationFactory(study=study)
    page.set_viewport_size({"width": 390, "height": 844})
    flow.sign_in(page, live_server, admin)
    page.wait_for_url(f"{live_server.url}/")
    for path in ("", "participants/", "schedule/", "activity/"):
        page.goto(f"{live_server.url}/studies/{study.pk}/{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(page, f"study-{path.strip('/') or 'overview'}-390")
    page.goto(f"{live_server.url}/studies/{study.pk}/")
    tabs = page.get_by_role("navigation", name="Study sections")
    for name in TABS:
        tab = tabs.get_by_role("link", name=name, exact=True)
        tab.scroll_into_view_if_needed()
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
        assert tab.evaluate("a => a.scrollWidth <= a.clientWidth"), name  # never cut ("C…")
    link = page.get_by_role("textbox", name="Application link")
    expect(link).to_have_value("https://www.userinterviews.com/projects/abc123/apply")
    assert link.bounding_box()["width"] >= 250

"""The Reports page in Chromium: reached from the main navigation, the funnel is an image
with its words, the type filter refreshes the results, a column sorts."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from studies.models import StudyType
from studies.services import study_mark_recruitment_started
from tests.billing.payouts_support import funded_ui_study
from tests.e2e import flow
from tests.participants.factories import ApplicationFactory


def _started(admin, name, study_type=StudyType.INTERVIEW, applied_after=None):
    study = funded_ui_study(admin, limit=2, name=name, study_type=study_type)
    study_mark_recruitment_started(study=study)
    study.refresh_from_db()
    if applied_after is not None:
        ApplicationFactory(study=study, applied_at=study.recruitment_started_at + applied_after)
    return study


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ops_manager_reads_filters_and_sorts_the_reports(live_server, page, admin,
                                                         ops_manager):
    _started(admin, "Quick interviews", applied_after=timedelta(minutes=30))
    _started(admin, "Slow test", StudyType.UNMODERATED_TEST,
             applied_after=timedelta(minutes=200))
    flow.sign_in(page, live_server, ops_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    funnel = page.get_by_role("img", name=re.compile("Recruitment funnel"))
    expect(funnel).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Recruitment metrics by study"))
    quick = table.get_by_role("row", name=re.compile("Quick interviews"))
    expect(quick).to_contain_text("30 minutes")
    expect(quick).to_contain_text("Faster")
    expect(table.get_by_role("row", name=re.compile("Slow test"))).to_contain_text("Slower")

    page.get_by_label("Study type").select_option(label="Unmoderated Test")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row", name=re.compile("Quick interviews"))).to_have_count(0)
    expect(table.get_by_role("row", name=re.compile("Slow test"))).to_be_visible()
    expect(page).to_have_url(re.compile("study_type=unmoderated_test"))

    page.get_by_role("link", name="Clear").click()
    header = page.get_by_role("columnheader", name="First qualified applicant")
    header.get_by_role("link").click()
    header = page.get_by_role("columnheader", name="First qualified applicant")
    expect(header).to_have_attribute("aria-sort", "descending")
    rows = page.get_by_role("table", name=re.compile("Recruitment metrics by study")) \
        .get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Slow test")

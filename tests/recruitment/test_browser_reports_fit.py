"""The Reports page at 1366 px: the "By study" table fits its card (every column, the
Completed one too, visible without scrolling sideways), and durations read in their unit."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from studies.models import StudyType
from tests.e2e import flow
from tests.recruitment.test_browser_reports import _started
from tests.screenshots import screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_by_study_table_fits_its_card_at_1366(live_server, page, admin):
    _started(admin, "Checkout redesign interviews with finance leads",
             applied_after=timedelta(hours=45))
    _started(admin, "Onboarding usability test", StudyType.UNMODERATED_TEST,
             applied_after=timedelta(minutes=30))
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/reports/")
    table = page.get_by_role("table", name="Recruitment metrics by study, 2 in all, sorted by "
                                           "started, descending")
    expect(table.get_by_role("row", name="Checkout redesign")).to_contain_text("45 hours")
    expect(page.get_by_text("Median time to fill")).to_be_visible()
    card = page.locator("section", has=page.get_by_role("heading", name="By study"))
    fits = card.evaluate("""card => {
        const wrap = card.querySelector('.table-wrap');
        const table = wrap.querySelector('table');
        const last = table.querySelector('thead th:last-child').getBoundingClientRect();
        return {scroll: wrap.scrollWidth <= wrap.clientWidth,
                inside: last.right <= card.getBoundingClientRect().right};
    }""")
    assert fits == {"scroll": True, "inside": True}
    completed = page.get_by_role("columnheader", name="Completed", exact=True)
    completed.scroll_into_view_if_needed()
    expect(completed).to_be_in_viewport(ratio=1)
    screenshot(page, "reports", widths=(1366, 390))

"""The study overview's recruitment metrics load after the page: their placeholder has the
card's shape, so nothing on the page moves when they arrive (Lighthouse's layout shift)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studies.models import StudyType
from tests.e2e import flow
from tests.recruitment.test_browser_reports import _started

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every layout shift the page makes (none caused by input), summed: the CLS of one page load.
RECORD_SHIFTS = """
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }
}).observe({type: "layout-shift", buffered: true});
"""
# Two animation frames: a shift from the last swap has been laid out and reported.
SHIFT_AFTER_PAINT = """() => new Promise((done) => requestAnimationFrame(
    () => requestAnimationFrame(() => done(window.__layoutShift))))"""


@pytest.mark.parametrize("study_type", [StudyType.INTERVIEW, StudyType.UNMODERATED_TEST])
@pytest.mark.parametrize("width", [1366, 390])
def test_the_metrics_arriving_move_nothing_on_the_overview(live_server, page, admin, width,
                                                          study_type):
    study = _started(admin, "Onboarding interviews", study_type,
                     applied_after=timedelta(minutes=30))
    page.set_viewport_size({"width": width, "height": 900})
    flow.sign_in(page, live_server, admin)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.add_init_script(RECORD_SHIFTS)
    page.goto(live_server.url + reverse("studies:study_overview", args=[study.pk]))
    panel = page.locator("#metrics-panel")
    expect(panel).not_to_have_attribute("aria-busy", "true")
    expect(panel.get_by_text("Time to first qualified applicant")).to_be_visible()
    expect(panel).to_contain_text("30 minutes")
    shift = page.evaluate(SHIFT_AFTER_PAINT)
    assert shift < 0.02, f"layout shift {shift:.3f} at {width} px"

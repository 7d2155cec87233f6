"""An Unmoderated Test (B2C) through pages only (SPEC T1, T2, I1, I2): the Test tab, start,
two invited participants submit at User Interviews, one is paid with "Complete & Send
payment", the other 24 hours after submitting; the study closes to the cent."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.long, pytest.mark.django_db(transaction=True)]

NAME = "Checkout usability test"


def test_unmoderated_test_from_tasks_to_receipt(e2e, worker, page, researcher, ops_manager):
    live = e2e
    flow.sign_in(page, live, researcher)
    study_id = flow.study_create(page, live, name=NAME, study_type="Unmoderated Test")
    flow.plan_fill(page, description="Try our checkout and tell us where it hurts.",
                   limit=3, incentive="20", teammates=["Olivia Ortiz"])
    flow.audience_b2c(page)
    flow.test_task_add(page, "Find running shoes", "Use the search, then a filter.")
    flow.test_task_add(page, "Check out as a guest", "Stop before paying.")
    screenshot(page, "test-tab")
    flow.publish(page)

    flow.started_by(page, live, ops_manager, study_id, add_funds="138",
                    shows=["3 × $26.00", "3 × $20.00", "$138.00"])  # B2C, unmoderated
    first, second = flow.applicants_invited(page, live, worker, researcher,
                                            study_id=study_id, name=NAME, count=2)

    # Both take the test at UI; their submissions come back as completions.
    flow.console_submit_test(page, live, first)
    flow.console_submit_test(page, live, second)
    worker.drain()
    page.goto(f"{live.url}/studies/{study_id}/participants/")
    for name in (first, second):
        expect(page.get_by_role("row").filter(has_text=name).locator(".badge")).to_have_text(
            "Completed")
    # The first is paid by hand; the second, left alone, goes out by itself 24 h later.
    flow.complete_and_send_payment(page, first)
    expect(page.get_by_role("status")).to_contain_text("The payment is on its way.")
    worker.drain()
    flow.ui_pays(page, live, worker)

    flow.console_advance(page, live, 24.1)
    worker.beat("billing.payouts_sweep")
    flow.ui_pays(page, live, worker)

    figures = flow.paid_then_closed(page, live, ops_manager, study_id, (first, second), worker)
    assert (figures["reserved"], figures["total_spent"], figures["unused"]) == (
        Decimal("138.00"), Decimal("92.00"), Decimal("46.00"))
    expect(page.locator("#money-panel")).to_contain_text(re.compile(r"2 × \$26\.00"))

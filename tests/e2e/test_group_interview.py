"""A Group Interview through pages only: two participants book the same group time, both
complete and are paid, the study closes with figures that match the ledger."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from scheduling.models import Session
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.long, pytest.mark.django_db(transaction=True)]

NAME = "Budget planning group sessions"


def test_two_people_book_one_group_time_complete_and_are_paid(e2e, worker, page, researcher,
                                                              ops_manager):
    live = e2e
    flow.sign_in(page, live, researcher)
    study_id = flow.study_create(page, live, name=NAME, study_type="Group Interview")
    flow.plan_fill(page, description="Plan next year's household budget with others.",
                   limit=3, incentive="50", teammates=["Olivia Ortiz"])
    flow.audience_b2c(page)
    flow.publish(page)

    flow.started_by(page, live, ops_manager, study_id, add_funds="267",
                    shows=["3 × $39.00", "3 × $50.00", "$267.00"])  # B2C, moderated
    first, second = flow.applicants_invited(page, live, worker, researcher,
                                            study_id=study_id, name=NAME, count=2)

    links = flow.invitation_links()
    times = [flow.book_first_free_slot(page, links[name]) for name in (first, second)]
    assert times[0] == times[1]  # the same group time, which holds up to six
    worker.drain()
    sessions = list(Session.objects.all())
    assert len({session.group_slot_id for session in sessions}) == 1
    assert sessions[0].group_slot_id is not None

    page.goto(f"{live.url}/studies/{study_id}/schedule/")
    # One group with its two members (SPEC C7).
    expect(page.locator("tr.group-row")).to_have_count(1)
    expect(page.locator("tr.group-row")).to_contain_text("2 of 6 seats taken")
    for name in (first, second):
        expect(page.get_by_role("row").filter(has_text=name)).to_have_count(1)
    screenshot(page, "scheduling-group")
    flow.console_advance(page, live, flow.hours_until_after(sessions[0].ends_at))
    page.goto(f"{live.url}/studies/{study_id}/schedule/")
    flow.complete_and_send_payment(page, first)
    # The second is left unmarked: completed at its end, paid 24 hours later by itself.
    expect(page.get_by_role("row").filter(has_text=second)).to_contain_text(
        "unless marked No-show")
    worker.beat("scheduling.sessions_sweep")
    worker.drain()
    flow.ui_pays(page, live, worker)
    flow.console_advance(page, live, 24.1)
    worker.beat("billing.payouts_sweep")
    flow.ui_pays(page, live, worker)

    figures = flow.paid_then_closed(page, live, ops_manager, study_id, (first, second), worker)
    assert (figures["reserved"], figures["total_spent"], figures["unused"]) == (
        Decimal("267.00"), Decimal("178.00"), Decimal("89.00"))
    expect(page.locator("#money-panel")).to_contain_text("2 × $39.00")
    expect(page.locator("#money-panel")).to_contain_text("2 × $50.00")

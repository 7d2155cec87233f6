"""In Chromium: User Interviews declined the study; the Ops Manager reads why on the overview,
opens "Review & Start" again and starts recruitment a second time (SPEC R2, B3)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Reservation
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from recruitment import orchestration, sync
from tests.billing.factories import BudgetFactory, funds_add
from tests.e2e import flow
from tests.recruitment.start_support import startable_study
from tests.studies.factories import CATALOG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def declined_study(workspace, researcher, ops_manager, admin):
    """An Active B2B interview whose first start (8 × $140 = $1,120) UI declined."""
    from studies.services import characteristics_replace

    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "1500.00")
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    sync.recruitment_apply_recruit(
        study_id=study.id, adopt=True, actor_label="task:poller",
        result={"recruit_id": "rec_declined", "status": "declined", "application_url": "",
                "declined_reason": "The screener asks for contact details",
                "updated_at": "2026-11-20T10:00:00+00:00"})
    return study, budget


def test_ops_manager_reads_why_ui_declined_and_starts_again(live_server, page, declined_study,
                                                            ops_manager):
    study, budget = declined_study
    assert budget_figures_for([budget])[budget.pk].available == Decimal("1500.00")

    flow.sign_in(page, live_server, ops_manager)
    page.goto(f"{live_server.url}/studies/{study.id}/")

    panel = page.locator("#money-panel")
    expect(panel).to_contain_text("User Interviews declined the study.")
    expect(panel).to_contain_text("The screener asks for contact details")
    expect(panel).to_contain_text("The reserved $1,120.00 went back to Workspace Budget.")

    panel.get_by_role("link", name="Review & Start").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Last start:")
    expect(dialog).to_contain_text("The screener asks for contact details")
    expect(dialog).to_contain_text("$1,120.00")
    expect(dialog).to_contain_text("$1,500.00 available")
    dialog.get_by_role("button", name="Start Recruitment").click()

    expect(page.get_by_role("list", name="Hand-off to User Interviews")).to_contain_text(
        "Starting")
    expect(page.get_by_role("link", name="Review & Start")).to_have_count(0)
    expect(panel).not_to_contain_text("declined the study.")
    assert budget_figures_for([budget])[budget.pk].available == Decimal("380.00")
    assert [(r.attempt, r.is_open) for r in Reservation.objects.filter(
        study_id=study.id).order_by("attempt")] == [(1, False), (2, True)]
    assert ledger_problems() == []

    # The Reservations tab keeps the first start, released, beside the second.
    page.goto(f"{live_server.url}/budgets/reservations/")
    table = page.get_by_role("table")
    expect(table).to_contain_text("start 1")
    expect(table).to_contain_text("start 2")
    expect(table).to_contain_text("Released")

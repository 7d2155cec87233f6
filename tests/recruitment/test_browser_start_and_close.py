"""In Chromium: the Ops Manager adds funds inside "Review & Start", starts recruitment,
later closes the study and reads the final billing details and the receipt (SPEC R1, R2,
B3, B6, B7)."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.selectors import budget_figures_for
from recruitment.models import Recruitment
from tests.billing.factories import BudgetFactory, funds_add
from tests.e2e import flow
from tests.recruitment.start_support import startable_study
from tests.studies.factories import CATALOG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(workspace, researcher, ops_manager):
    from studies.services import characteristics_replace

    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    return study


def test_ops_manager_adds_funds_in_the_dialog_starts_and_later_closes(
        live_server, page, study, workspace, admin, ops_manager):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "1000.00")  # the estimate is 8 × ($65 + $75) = $1,120.00

    flow.sign_in(page, live_server, ops_manager)
    page.goto(f"{live_server.url}/studies/{study.id}/")

    page.get_by_role("link", name="Review & Start").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("8 × $65.00")
    expect(dialog).to_contain_text("8 × $75.00")
    expect(dialog).to_contain_text("$1,120.00")
    expect(dialog).to_contain_text("Workspace Budget is short by $120.00")

    dialog.get_by_role("link", name="Add Funds").click()
    dialog.get_by_label("Amount").fill("500")
    dialog.get_by_label("Reference").fill("PO-7781")
    dialog.get_by_role("button", name="Add Funds").click()
    # The dialog is still there, updated with the new Available.
    expect(dialog).to_contain_text("$1,500.00 available")
    expect(dialog).not_to_contain_text("short by")

    dialog.get_by_role("button", name="Start Recruitment").click()
    expect(page.get_by_role("list", name="Hand-off to User Interviews")).to_contain_text(
        "Starting")
    expect(page.get_by_role("link", name="Review & Start")).to_have_count(0)
    assert budget_figures_for([budget])[budget.pk].available == Decimal("380.00")

    # UI moved it to recruiting; the Ops Manager closes the study.
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.RECRUITING)
    page.reload()
    page.get_by_role("button", name="Change status").click()
    page.get_by_role("menuitem", name="Closed").click()
    page.get_by_role("button", name="Close study").click()
    details = page.locator("#money-panel")
    expect(details).to_contain_text("Final billing details")
    expect(details).to_contain_text("Total Spent")
    expect(details).to_contain_text("$1,120.00")
    assert budget_figures_for([budget])[budget.pk].available == Decimal("1500.00")
    details.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(r"/receipts/[0-9a-f-]+/$"))
    expect(page.locator("main")).to_contain_text("Onboarding interviews")
    expect(page.locator("main")).to_contain_text("$1,120.00")

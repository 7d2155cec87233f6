"""Add Funds in Chromium: the dialog on the Budgets page, a bad amount, then a good one."""

import re

import pytest
from playwright.sync_api import expect

from tests.billing.factories import BudgetFactory, funds_add
from tests.e2e import flow


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ops_manager_adds_funds_in_the_dialog(live_server, page, workspace, admin,
                                              ops_manager):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "100.00")
    flow.sign_in(page, live_server, ops_manager)
    page.get_by_role("link", name="Budgets").click()
    row = page.get_by_role("row", name=re.compile("Workspace Budget"))
    expect(row).to_contain_text("$100.00")

    row.get_by_role("link", name=re.compile("Add Funds")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Amount")).to_be_focused()
    dialog.get_by_label("Amount").fill("12.345")
    dialog.get_by_label("Reference").fill("PO-55")
    dialog.get_by_role("button", name="Add Funds").click()
    expect(dialog).to_contain_text("at most two decimals")
    expect(dialog.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")

    dialog.get_by_label("Amount").fill("1,250.00")
    dialog.get_by_role("button", name="Add Funds").click()
    expect(dialog).to_contain_text("Added $1,250.00 to Workspace Budget")
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Workspace Budget"))).to_contain_text(
        "$1,350.00")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_adds_funds_from_a_budget_page_and_sees_the_history(live_server, page,
                                                                   workspace, admin):
    budget = BudgetFactory(workspace=workspace, name="Design Team")
    flow.sign_in(page, live_server, admin)  # signed in before the next page is asked for
    page.goto(f"{live_server.url}/budgets/{budget.pk}/")
    expect(page.get_by_text("No movements yet.")).to_be_visible()
    page.get_by_role("link", name="Add Funds").click()
    dialog = page.get_by_role("dialog")
    # The form has arrived and settled (it focuses its first field) before anything is typed:
    # once, under load, both fields reached the server blank.
    expect(dialog.get_by_label("Amount")).to_be_focused()
    dialog.get_by_label("Amount").fill("300")
    dialog.get_by_label("Reference").fill("Grant 2026-A")
    dialog.get_by_role("button", name="Add Funds").click()
    expect(dialog).to_contain_text("Added $300.00 to Design Team")
    dialog.get_by_role("button", name="Done").click()
    history = page.get_by_role("table", name=re.compile("Every movement"))
    expect(history).to_contain_text("Grant 2026-A")
    expect(history).to_contain_text("+$300.00")

"""Add Funds inside "Review & Start" in Chromium: the "$" sits inside the field, the error
summary names the field, and adding says so ("Added $500.00 to Q4 Research Budget") even
though the dialog refreshes with the new Available."""


import pytest
from playwright.sync_api import expect

from tests.billing.factories import BudgetFactory, funds_add
from tests.e2e import flow
from tests.recruitment.start_support import startable_study
from tests.screenshots import screenshot
from tests.studies.factories import CATALOG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_funds_in_review_and_start_confirms_what_it_did(live_server, page, workspace,
                                                           admin, researcher, ops_manager):
    from studies.services import characteristics_replace

    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    budget = BudgetFactory(workspace=workspace, name="Q4 Research Budget")
    funds_add(admin, budget, "1000.00")
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, ops_manager)
    page.goto(f"{live_server.url}/studies/{study.id}/")
    page.get_by_role("link", name="Review & Start").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("link", name="Add Funds").click()
    amount = dialog.get_by_label("Amount")
    dollar = dialog.locator(".money-input span")
    # "$" on the field's line, inside its border.
    dollar_box, field_box = dollar.bounding_box(), amount.bounding_box()
    assert abs((dollar_box["y"] + dollar_box["height"] / 2)
               - (field_box["y"] + field_box["height"] / 2)) < 4
    assert dollar_box["x"] < field_box["x"]

    dialog.get_by_role("button", name="Add Funds").click()
    summary = dialog.locator(".error-summary")
    expect(summary.get_by_role("link", name="Amount: This field is required.")).to_be_visible()
    expect(summary.get_by_role("link", name="Reference: This field is required.")
           ).to_be_visible()
    screenshot(page, "add-funds-errors", widths=(1366, 390))

    dialog.get_by_label("Amount").fill("500")
    dialog.get_by_label("Reference").fill("PO-7781")
    dialog.get_by_role("button", name="Add Funds").click()
    expect(dialog).to_contain_text("$1,500.00 available")
    confirmation = dialog.get_by_role("status").filter(has_text="Added $500.00")
    expect(confirmation).to_have_text("Added $500.00 to Q4 Research Budget. Available is now "
                                      "$1,500.00.")
    screenshot(page, "add-funds-confirmed", widths=(1366, 390))

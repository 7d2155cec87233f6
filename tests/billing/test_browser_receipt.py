"""An itemised receipt, the budget history and a closed study's reconciliation with User
Interviews, as a finance person reads them in Chromium (1366 px and 390 px)."""
# ruff: noqa: F811 - the dispatched fixture is imported from payouts_support by name

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Receipt
from billing.services import budget_default_ensure, ui_billing_summary_record
from rally import clock
from recruitment.models import Recruitment
from recruitment.workflows import study_status_change
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    funded_ui_study,
)
from tests.billing.test_receipts_itemised import _paid
from tests.e2e import flow
from tests.screenshots import screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_finance_person_reads_the_receipt_history_and_reconciliation(live_server, page,
                                                                      admin, dispatched):
    study = funded_ui_study(admin, limit=4, name="Checkout interviews")
    _paid(admin, study, "Ana R", "pay_ana")
    _paid(admin, study, "Ben O", "pay_ben")
    _paid(admin, study, "Cleo P", "pay_cleo", paid=False)
    Recruitment.objects.create(study=study, state=Recruitment.State.RECRUITING,
                               ui_recruit_id="rec_1", created_at=clock.now(),
                               updated_at=clock.now())
    study_status_change(membership=admin, study=study, to="closed")

    ui_billing_summary_record(workspace=admin.workspace, study_id=study.pk, completed_sessions=3,
                              incentives=Decimal("300.00"), paid_payments=3,
                              actor="webhook:evt_final")
    receipt = Receipt.objects.get(study_id=study.pk)
    flow.sign_in(page, live_server, admin)

    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/receipts/{receipt.pk}/")
        lines = page.get_by_role("table", name=re.compile("Participants paid for"))
        expect(lines.get_by_role("row", name=re.compile("Ana R."))).to_contain_text("pay_ana")
        expect(lines.get_by_role("row", name=re.compile("Cleo P."))).to_contain_text(
            "Failed, returned")
        expect(lines).to_contain_text("America/New_York")
        screenshot(page, f"receipt-{width}")

        budget = budget_default_ensure(workspace=admin.workspace)
        page.goto(f"{live_server.url}/budgets/{budget.pk}/")
        history = page.get_by_role("table", name=re.compile("Every movement"))
        expect(history).to_contain_text("User Interviews")
        expect(history).not_to_contain_text("webhook:")
        screenshot(page, f"budget-history-{width}")

        page.goto(f"{live_server.url}/studies/{study.pk}/")
        difference = page.locator("#ui-billing-difference")
        expect(difference).to_contain_text("differs from Rally's figures")
        expect(difference.get_by_role("row", name=re.compile("Incentives paid"))).to_contain_text(
            "$300.00")
        screenshot(page, f"overview-reconciliation-{width}")

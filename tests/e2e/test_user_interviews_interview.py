"""The whole User Interviews flow of an Interview, through pages only (SPEC S, A, Q, R, P, C,
I, B): the researcher plans, targets and publishes; the Ops Manager funds and starts; UI
sends applicants; the researcher reviews; participants book; sessions are completed, paid
or missed; the Ops Manager pauses, resumes and closes; the money adds up to the cent."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from billing.models import Budget
from billing.selectors import budget_figures_for
from sandbox.models import Recruit
from scheduling.models import Session
from tests.e2e import flow
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.long, pytest.mark.django_db(transaction=True)]

NAME = "Engineering onboarding interviews"


def test_interview_from_plan_to_receipt(e2e, worker, page, researcher, ops_manager, admin):
    live = e2e
    flow.sign_in(page, live, researcher)
    screenshot(page, "studies-list-empty")
    study_id = flow.study_create(page, live, name=NAME)
    flow.plan_fill(page, description="Tell us how your team onboards new engineers.",
                   limit=5, incentive="75", teammates=["Olivia Ortiz"])
    screenshot(page, "plan")
    flow.audience_b2b_in_states(page, states=["California", "New York"])
    screenshot(page, "audience")
    flow.screener_with_a_skip(page)
    screenshot(page, "screener")
    flow.publish(page)
    expect(page.get_by_role("link", name="Review & Start")).to_have_count(0)
    screenshot(page, "overview-published")
    page.goto(f"{live.url}/studies/{study_id}/recruitment/start/")  # refused on the server too
    expect(page.get_by_role("heading", name="You don't have access to this")).to_be_visible()

    # Nobody has opened the Budgets page: Review & Start offers "Workspace Budget" anyway.
    flow.sign_in(page, live, ops_manager)
    page.goto(f"{live.url}/studies/{study_id}/")
    flow.start_recruitment(page, add_funds="1000",
                           shows=["Workspace Budget", "$0.00 available"])
    screenshot(page, "overview-starting")
    worker.drain()
    page.reload()
    expect(page.locator("#sync-status")).to_contain_text("review")

    # UI's review passes (the console), its webhook reaches Rally's worker.
    flow.console_review(page, live, NAME)
    worker.drain()
    page.goto(f"{live.url}/studies/{study_id}/")
    expect(page.locator("#sync-status")).to_contain_text("Recruiting")
    flow.console_generate(page, live, NAME, 4)
    screenshot(page, "sandbox-console")
    worker.drain()

    # The researcher reviews: invites three, rejects one with a reason.
    flow.sign_in(page, live, researcher)
    page.goto(f"{live.url}/studies/{study_id}/participants/")
    expect(page.locator("tbody tr")).to_have_count(4)
    names = flow.participant_names(page)
    assert len(set(names)) == 4, names
    screenshot(page, "participants-tab")
    ada, ben, cleo, dev = names
    flow.invite_from_row_menu(page, ada)
    flow.invite_from_row_menu(page, ben)
    flow.invite_from_row_menu(page, cleo)
    worker.drain()  # the invitations reach UI
    expect(page.locator("tbody")).not_to_contain_text("Sending to User Interviews")
    flow.reject_from_row_menu(page, dev, "Works outside engineering")
    page.get_by_role("link", name=ada).click()
    expect(page.get_by_role("heading", name=ada)).to_be_visible()
    screenshot(page, "profile")
    worker.drain()

    # Each invited participant books from the link UI sent them.
    links = flow.invitation_links()
    assert sorted(links) == sorted([ada, ben, cleo])
    for name in (ada, ben, cleo):
        flow.book_first_free_slot(page, links[name])
        if name == ada:
            screenshot(page, "booking-page")
    worker.drain()
    page.goto(f"{live.url}/studies/{study_id}/schedule/")
    for name in (ada, ben, cleo):
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Upcoming")
    assert "@" not in page.locator("table").inner_text()  # no email for UI people (P5)
    screenshot(page, "scheduling")

    # The sessions take place: the test clock moves past the last one's end.
    last_end = max(Session.objects.values_list("ends_at", flat=True))
    flow.console_advance(page, live, flow.hours_until_after(last_end))
    page.goto(f"{live.url}/studies/{study_id}/schedule/")
    # Nobody has marked them yet: each says what will happen (SPEC C5, I2).
    for name in (ada, ben, cleo):
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(
            re.compile(r"Ended — incentive sent automatically on .+ unless marked No-show"))
    flow.complete_and_send_payment(page, ada)
    flow.session_mark(page, cleo, "No-show")
    cleo_row = page.get_by_role("row").filter(has_text=cleo)
    expect(cleo_row.get_by_role("button", name=f"Undo the No-show of {cleo}'s session")
           ).to_be_visible()
    # Ben's session is left unmarked: beat's session sweep counts it as completed at its end.
    worker.beat("scheduling.sessions_sweep")
    worker.drain()  # the payment request and the session news reach UI
    flow.ui_pays(page, live, worker)  # UI moves the payment along and tells Rally
    page.goto(f"{live.url}/studies/{study_id}/schedule/")
    ben_row = page.get_by_role("row").filter(has_text=ben)
    expect(ben_row.locator(".badge")).to_have_text("Completed")
    expect(ben_row).to_contain_text("unless marked No-show")
    screenshot(page, "scheduling-ended")

    # 24 hours after Ben's session, beat's payout sweeper pays him without anyone clicking.
    flow.console_advance(page, live, 24)
    worker.beat("billing.payouts_sweep")
    flow.ui_pays(page, live, worker)
    page.goto(f"{live.url}/studies/{study_id}/participants/")
    for name, status in ((ada, "Paid"), (ben, "Paid"), (cleo, "No-show"), (dev, "Rejected")):
        expect(page.get_by_role("row").filter(has_text=name).locator(".badge")).to_have_text(
            status)
    screenshot(page, "participants-after-sessions")

    # The Ops Manager pauses, resumes and closes.
    flow.sign_in(page, live, ops_manager)
    page.goto(f"{live.url}/budgets/payments/")
    payments = page.get_by_role("table")
    for name, trigger in ((ada, "Manual"), (ben, "Automatic")):
        row = payments.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("Paid")
        expect(row).to_contain_text(trigger)
        expect(row).to_contain_text("$75.00")
    expect(payments.get_by_role("row").filter(has_text=cleo)).to_have_count(0)
    screenshot(page, "payments")
    page.goto(f"{live.url}/studies/{study_id}/")
    sync = page.locator("#sync-status")
    flow.status_change(page, "Paused")
    worker.drain()
    assert Recruit.objects.get().status == "paused"
    page.reload()
    expect(sync).to_contain_text("Paused")
    flow.status_change(page, "Active")
    worker.drain()
    assert Recruit.objects.get().status == "recruiting"
    flow.status_change(page, "Closed", confirm="Close study")
    worker.drain()
    assert Recruit.objects.get().status == "closed"

    # The final billing block, the receipt and its email match the ledger to the cent.
    page.reload()
    figures, expected = flow.close_and_read_figures(page, study_id)
    assert figures["participants"] == 2
    assert (figures["reserved"], figures["total_spent"], figures["unused"]) == (
        Decimal("700.00"), Decimal("280.00"), Decimal("420.00"))
    block = page.locator("#money-panel")
    expect(block).to_contain_text("2 × $65.00")
    expect(block).to_contain_text("Workspace Budget")
    screenshot(page, "overview-closed")
    budget = Budget.objects.get(name="Workspace Budget")
    ledger = budget_figures_for([budget])[budget.pk]
    assert (ledger.available, ledger.reserved, ledger.spent) == (
        Decimal("1000.00") - figures["total_spent"], Decimal("0.00"), figures["total_spent"])

    block.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(r"/receipts/[0-9a-f-]+/$"))
    for label, value in expected:
        expect(page.locator("main").get_by_role("row").filter(has_text=label)).to_contain_text(
            flow.money(value))
    screenshot(page, "receipt")
    pdf = page.request.get(
        live.url + page.get_by_role("link", name="Download PDF").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    page.goto(f"{live.url}/receipts/")
    expect(page.get_by_role("row").filter(has_text=NAME)).to_contain_text(
        flow.money(figures["total_spent"]))
    screenshot(page, "receipts")
    page.goto(f"{live.url}/budgets/reservations/")
    screenshot(page, "reservations")
    page.goto(f"{live.url}/budgets/")
    row = page.get_by_role("row", name=re.compile("Workspace Budget"))
    for value in (ledger.available, ledger.spent):
        expect(row).to_contain_text(flow.money(value))
    screenshot(page, "budgets")

    page.goto(f"{live.url}/studies/")
    expect(page.get_by_role("link", name=NAME)).to_be_visible()
    screenshot(page, "studies-list")
    flow.sign_in(page, live, admin)  # members and settings are the Admin's
    page.goto(f"{live.url}/workspace/settings/")
    expect(page.get_by_role("heading", name="Workspace settings")).to_be_visible()
    for member in ("Riley Reyes", "Olivia Ortiz", "Avery Adams"):
        expect(page.get_by_role("region", name="Members")).to_contain_text(member)
    screenshot(page, "workspace-settings")

    [email] = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert email.to == [ops_manager.user.email]
    html = next(body for body, kind in email.alternatives if kind == "text/html")
    for _label, value in expected:
        assert flow.money(value) in html
        assert flow.money(value) in email.body
    assert any(name.endswith(".pdf") for name, *_ in email.attachments)

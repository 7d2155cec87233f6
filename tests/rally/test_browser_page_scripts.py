"""What is left of Rally's own page script, and what htmx and the browser do in its place
(issue 16): selects that apply on change are htmx requests (the workspace switcher, the
study and payment filters), a modal dialog keeps focus by being modal (showModal), and a form marked
data-confirm asks in Rally's own dialog — Cancel and Escape change nothing and give focus
back, Confirm submits; "Copy" copies and says so in a toast that fades. The page fixture
fails on any console error or CSP violation."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Payout
from billing.services import budget_default_ensure
from rally.models import Membership
from recruitment import orchestration
from recruitment.models import Recruitment
from studies.services import characteristics_replace
from tests.billing.factories import funds_add
from tests.billing.payouts_support import due_payouts
from tests.e2e import flow
from tests.rally.factories import MembershipFactory
from tests.recruitment.start_support import startable_study
from tests.studies.factories import CATALOG, StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_workspace_switcher_moves_on_change(live_server, page, admin, outsider):
    MembershipFactory(user=admin.user, workspace=outsider.workspace, role="observer")
    flow.sign_in(page, live_server, admin)
    switcher = page.get_by_label("Workspace", exact=True)
    expect(switcher.locator("option:checked")).to_have_text("Acme Research")
    switcher.select_option(label="Globex Insights")
    expect(page.get_by_label("Workspace", exact=True).locator("option:checked")).to_have_text(
        "Globex Insights")
    expect(page.locator(".usermenu__panel")).to_contain_text("Observer · Globex Insights")


def test_a_study_filter_applies_on_change_and_keeps_focus(live_server, page, workspace,
                                                          admin):
    StudyFactory(workspace=workspace, owner=admin.user, name="Drafted diary", status="draft")
    StudyFactory(workspace=workspace, owner=admin.user, name="Running interviews",
                 status="active")
    flow.sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/studies/")
    expect(page.get_by_role("link", name="Drafted diary")).to_be_visible()
    status = page.get_by_label("Status")
    status.focus()
    status.select_option(label="Active")
    page.wait_for_url(re.compile(r"status=active"))
    expect(page.get_by_role("link", name="Drafted diary")).to_have_count(0)
    expect(page.get_by_role("link", name="Running interviews")).to_be_visible()
    expect(page.get_by_label("Status")).to_be_focused()
    expect(page.get_by_label("Status")).to_have_value("active")


def test_a_confirmation_asks_in_rallys_dialog(live_server, page, workspace, admin,
                                              researcher):
    flow.sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/workspace/settings/")
    question = (f"Remove {researcher.user.email} from Acme Research? "
                "They lose access at once.")
    remove = page.get_by_role("button", name=f"Remove {researcher.user.email}")
    dialog = page.get_by_role("dialog", name=question)

    # Escape: nothing happens, focus back on the button that asked.
    remove.click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Confirm")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(remove).to_be_focused()
    # Cancel: the same.
    remove.click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(remove).to_be_focused()
    assert Membership.objects.filter(pk=researcher.pk).exists()

    # Modal (showModal): Tab walks the dialog's buttons and, past them, the browser's own
    # controls (the body is focused meanwhile), never the page behind the dialog.
    remove.click()
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("""() => document.activeElement === document.body
                                || !!document.activeElement.closest('dialog[open]')""")
    # Confirm: the form submits.
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name=f"Remove {researcher.user.email}")).to_have_count(0)
    assert not Membership.objects.filter(pk=researcher.pk).exists()


def test_copy_puts_the_link_on_the_clipboard_and_says_so_a_while(live_server, page, workspace,
                                                                  researcher, ops_manager,
                                                                  admin):
    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    budget = budget_default_ensure(workspace=workspace)
    funds_add(admin, budget, "2000.00", "PO-2000")
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    link = "https://www.userinterviews.com/projects/abc/apply"
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.RECRUITING,
                                                   application_url=link)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.clock.install()
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study.id}/")
    page.get_by_role("button", name="Copy application link").click()
    toast = page.locator("#toasts").get_by_text("Copied the link.")
    expect(toast).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    page.clock.run_for(4500)  # toasts fade after a while
    expect(toast).to_have_count(0)


def test_the_payments_study_filter_applies_on_change(live_server, page, workspace, admin):
    for name, person in (("Alpha diary", "Ada L."), ("Beta interviews", "Ben K.")):
        study = StudyFactory(workspace=workspace, owner=admin.user, name=name,
                             incentive_amount=Decimal("50.00"))
        [payout] = due_payouts(study, 1)
        Payout.objects.filter(pk=payout.pk).update(participant_label=person)
    flow.sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/budgets/payments/")
    expect(page.get_by_role("cell", name="Ben K.")).to_be_visible()
    page.get_by_label("Study", exact=True).select_option(label="Alpha diary")
    page.wait_for_url(re.compile(r"study="))
    expect(page.get_by_role("cell", name="Ben K.")).to_have_count(0)
    expect(page.get_by_role("cell", name="Ada L.")).to_be_visible()

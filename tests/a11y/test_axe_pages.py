"""axe-core on every main page of Rally, as the demo workspace's Admin sees it (and the login
and booking pages as a visitor sees them), and on the pages a Researcher and an Observer can
open, as they see them: no serious or critical violation anywhere. One walk over one seeded
demo: seeding it is most of a walk's cost."""

import os

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from demo import workspace as workspace_demo
from participants.models import Application
from rally.models import Membership
from scheduling.services import booking_token_make
from studies.models import Study
from tests.a11y.conftest import assert_no_problems, log_in
from tests.hardening.support import demo_money_added

pytestmark = [pytest.mark.browser, pytest.mark.long, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_pages(settings):
    """The demo workspace (seed_demo), plus what the demo lacks: a reservation, a closed
    study with its receipt and payouts. Returns {page name: path} for the Admin."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.DEBUG = False
    admin = Membership.objects.select_related("workspace", "user").get(
        user__email="admin@example.com")
    workspace = admin.workspace
    budget, reserved, closed, receipt = demo_money_added(admin)

    active = Study.objects.get(workspace=workspace, name="Developer onboarding interviews")
    application = Application.objects.filter(study=active).order_by("applied_at").first()
    invited = Application.objects.get(study=active, participant__first_name="Diego")
    study = {"study_id": active.pk}
    return {
        "studies list": reverse("studies:study_list"),
        "new study": reverse("recruitment:study_create"),
        "overview": reverse("studies:study_overview", kwargs=study),
        "plan": reverse("studies:study_plan", kwargs=study),
        "audience": reverse("studies:study_audience", kwargs=study),
        "screener": reverse("studies:study_screener", kwargs=study),
        "scheduling": reverse("scheduling:study_scheduling", kwargs=study),
        "participants tab": reverse("participants:study_participants", kwargs=study),
        "applicant profile": reverse("participants:applicant_profile",
                                     kwargs={**study, "application_id": application.pk}),
        "activity": reverse("studies:study_activity", kwargs=study),
        "review & start": reverse("recruitment:start", kwargs={"study_id": reserved.pk}),
        "closed overview": reverse("studies:study_overview", kwargs={"study_id": closed.pk}),
        "budgets": reverse("billing:budgets"),
        "budget detail": reverse("billing:budget_detail", kwargs={"budget_id": budget.pk}),
        "payments": reverse("billing:payments"),
        "reservations": reverse("billing:reservations"),
        "receipts": reverse("billing:receipts"),
        "receipt": reverse("billing:receipt_detail", kwargs={"receipt_id": receipt.pk}),
        "workspace settings": reverse("workspace_settings"),
        "calendar": reverse("scheduling:calendar"),
        "your calendar": reverse("scheduling:account_calendar"),
        "reports": reverse("recruitment:reports"),
        "participants directory": reverse("participants:people_directory"),
        "panel rules": reverse("panel:rules"),
        "dashboard": reverse("home"),
        "notifications": reverse("notifications"),
        "account settings": reverse("account_settings"),
        "booking page": reverse("scheduling:booking",
                                kwargs={"token": booking_token_make(invited)}),
    }


#: The pages a Researcher and an Observer can open: the Researcher owns the demo studies and sees
#: their figures on the study's pages; the budgets pages need "read all budgets" (Admin and
#: Ops Manager), so neither opens them; reports are the Researcher's, not the Observer's.
ROLE_PAGES = {
    "researcher@example.com": ("studies list", "overview", "plan", "audience", "screener",
                               "scheduling", "participants tab", "applicant profile", "reports",
                               "participants directory", "activity", "your calendar"),
    "observer@example.com": ("studies list", "overview", "plan", "audience", "screener",
                             "scheduling", "participants tab", "applicant profile",
                             "participants directory", "activity"),
}


def test_every_main_page_as_each_role_has_no_serious_or_critical_violation(
        live_server, page, demo_pages, axe_violations):
    """One walk over one seeded demo: visitors, the Admin (pages, dialogs, phone width), then
    the Researcher and the Observer on the pages they can open."""
    booking = demo_pages.pop("booking page")
    found = {}
    page.set_viewport_size({"width": 1280, "height": 900})

    # Visitors: the login page and a participant's booking page.
    for name, path in (("login", reverse("login")), ("booking page", booking)):
        response = page.goto(live_server.url + path)
        assert response.status == 200, name
        found[name] = axe_violations(page)

    log_in(page, live_server, "admin@example.com", workspace_demo.PASSWORD)
    found.update(check_pages(page, live_server, demo_pages, axe_violations))

    # Open dialogs and menus are checked as they appear.
    page.goto(live_server.url + demo_pages["budget detail"])
    page.get_by_role("link", name="Add Funds").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Amount")).to_be_visible()
    found["add funds dialog"] = axe_violations(page)
    page.goto(live_server.url + demo_pages["budgets"])
    page.get_by_role("link", name="New budget").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    found["new budget dialog"] = axe_violations(page)
    page.goto(live_server.url + demo_pages["overview"])
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("menu")).to_be_visible()
    found["status menu"] = axe_violations(page)
    page.get_by_role("menuitem", name="Closed…").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    found["close study dialog"] = axe_violations(page)

    # On a phone: the main pages again at 390 px wide.
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("studies list", "overview", "participants tab", "applicant profile",
                 "budgets", "payments", "receipt", "calendar"):
        page.goto(live_server.url + demo_pages[name])
        found[f"{name} (phone)"] = axe_violations(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    for email, names in ROLE_PAGES.items():
        page.context.clear_cookies()
        log_in(page, live_server, email, workspace_demo.PASSWORD)
        found.update({f"{name} ({email})": problems for name, problems in check_pages(
            page, live_server, {name: demo_pages[name] for name in names},
            axe_violations).items()})

    assert_no_problems(found)


def check_pages(page, live_server, pages, axe_violations):
    """{page name: its violations}, each page opened (and answering 200) in turn."""
    found = {}
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, f"{name} ({path}) answered {response.status}"
        found[name] = axe_violations(page)
    return found

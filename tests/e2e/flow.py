"""Page steps the end-to-end tests share: signing in as someone, creating and publishing a
study through its tabs, starting it as an Ops Manager, and the sandbox console's buttons."""

import re
from contextlib import contextmanager

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def sign_in(page, live_server, membership):
    """Sign out whoever is signed in (one browser context per test), then sign in. The old
    page is left first: a request it still makes (a panel loading) would otherwise be sent to
    the login page without cookies and replace the login form's CSRF cookie."""
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)


@contextmanager
def swapped(page, path):
    """Wait until the htmx request to `path` made inside the block has been swapped in."""
    with page.expect_response(lambda response: response.url.split("?")[0].endswith(path)):
        yield
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def study_create(page, live_server, *, name, study_type="Interview"):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("button", name="New study").click()
    page.get_by_role("menuitem", name="From scratch").click()
    page.get_by_label("Study name").fill(name)
    page.get_by_label(study_type, exact=True).check()
    page.get_by_label("User Interviews").check()
    page.get_by_role("button", name="Create study").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return re.search(r"/studies/([0-9a-f-]{36})/", page.url).group(1)


def plan_fill(page, *, description, limit, incentive, teammates=()):
    page.get_by_role("link", name="Plan", exact=True).click()
    page.get_by_label("External study description").fill(description)
    page.get_by_label("Participation limit").fill(str(limit))
    page.get_by_label("Incentive amount").fill(str(incentive))
    for name in teammates:
        page.locator("#field-team").get_by_label(name).check()
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_text("Saved the plan.")).to_be_visible()


def audience_b2b_in_states(page, *, states, criterion=("engin", "Engineering", "Job function")):
    page.get_by_role("link", name="Audience", exact=True).click()
    page.get_by_label("Industry professionals (B2B)").check()
    with swapped(page, "audience/settings/"):
        page.get_by_role("button", name="Save audience").click()
    with swapped(page, "audience/location/"):
        page.get_by_label("State", exact=True).check()
    for state in states:
        page.get_by_label(state, exact=True).check()
    with swapped(page, "audience/location/"):
        page.get_by_role("button", name="Save states").click()
    search, choice, characteristic = criterion
    page.get_by_label("Search criteria").fill(search)
    page.get_by_label(choice, exact=True).check()
    page.get_by_role("button", name="Apply criteria").click()
    expect(page.get_by_role("button", name=f"Remove {characteristic}")).to_be_visible()
    expect(page.get_by_role("region", name="Audience Reach").get_by_text(
        "People who match")).to_be_visible()


def audience_b2c(page):
    page.get_by_role("link", name="Audience", exact=True).click()
    b2c = page.get_by_label("General population (B2C)")
    if not b2c.is_checked():
        b2c.check()
        with swapped(page, "audience/settings/"):
            page.get_by_role("button", name="Save audience").click()
    expect(b2c).to_be_checked()


def screener_question_add(page, text, kind, options=""):
    form = page.get_by_role("region", name="Add a question")
    form.get_by_label("Question text").fill(text)
    form.get_by_label("Question type").select_option(label=kind)
    if options:
        form.get_by_label("Options").fill(options)
    with page.expect_response(lambda response: "/screener/questions/" in response.url):
        form.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("heading", name=text)).to_be_visible()


def screener_with_a_skip(page):
    """Three questions; "Yes" to the first skips the second."""
    page.get_by_role("link", name="Screener", exact=True).click()
    screener_question_add(page, "Do you manage a team?", "Single choice", "Yes\nNo")
    screener_question_add(page, "What is your job title?", "Short text")
    screener_question_add(page, "How many people report to you?", "Number")
    first = page.locator("li.question").nth(0)
    first.get_by_text("Edit").click()
    first.get_by_label("If the answer is “Yes”, go to").select_option(
        label="Question 3. How many people report to you?")
    with page.expect_response(lambda response: "/screener/questions/" in response.url):
        first.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("If “Yes”, skip to question 3. How many people report to you?")
           ).to_be_visible()
    expect(page.get_by_text("No problems: every question can be reached")).to_be_visible()


def publish(page):
    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("button", name="Publish Study").click()
    expect(page.locator(".study-header .badge")).to_have_text("Active")


def start_recruitment(page, *, add_funds=None, reference="PO-E2E", shows=()):
    """"Review & Start" as someone who may start; optionally add funds inside the dialog."""
    page.get_by_role("link", name="Review & Start").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Start Recruitment")).to_be_visible()
    for text in shows:
        expect(dialog).to_contain_text(text)
    if add_funds is not None:
        expect(dialog).to_contain_text("is short by")
        dialog.get_by_role("link", name="Add Funds").click()
        dialog.get_by_label("Amount").fill(add_funds)
        dialog.get_by_label("Reference").fill(reference)
        dialog.get_by_role("button", name="Add Funds").click()
        expect(dialog).not_to_contain_text("short by")
    dialog.get_by_role("button", name="Start Recruitment").click()
    expect(page.get_by_role("link", name="Review & Start")).to_have_count(0)
    return dialog


def status_change(page, target, *, confirm=None):
    page.get_by_role("button", name="Change status").click()
    page.get_by_role("menuitem", name=target).click()
    if confirm:
        page.get_by_role("button", name=confirm).click()
    expect(page.locator(".study-header .badge")).to_have_text(target)


# The sandbox console ------------------------------------------------------------------------


def console(page, live_server):
    page.goto(f"{live_server.url}/sandbox/")
    expect(page.get_by_role("heading", name="User Interviews sandbox")).to_be_visible()


def console_review(page, live_server, study_name, outcome="Approve review"):
    console(page, live_server)
    page.get_by_role("row", name=re.compile(re.escape(study_name))).get_by_role(
        "button", name=outcome).click()
    expect(page.get_by_role("status").get_by_text("Review finished.")).to_be_visible()


def console_generate(page, live_server, study_name, count):
    console(page, live_server)
    page.get_by_label(f"Number of applicants for {study_name}").fill(str(count))
    page.get_by_role("row", name=re.compile(re.escape(study_name))).get_by_role(
        "button", name="Generate applicants").click()
    expect(page.get_by_text(f"{count} applicant(s) arrived.")).to_be_visible()


def console_advance(page, live_server, hours):
    console(page, live_server)
    page.get_by_label("Advance the clock (hours)").fill(f"{hours:g}")
    page.get_by_role("button", name="Advance clock").click()
    expect(page.get_by_text(f"The clock moved {hours:g} h forward.")).to_be_visible()


def console_tick(page, live_server):
    console(page, live_server)
    page.get_by_role("button", name="Run simulation now").click()
    expect(page.get_by_text("Simulation ran:")).to_be_visible()


# Participants --------------------------------------------------------------------------------


def participant_names(page):
    """The names in the Participants tab's rows, top to bottom."""
    return [name.strip() for name in
            page.locator("tbody tr th.applicants__name a").all_inner_texts()]


def invite_from_row_menu(page, name):
    page.get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invited {name}")


def reject_from_row_menu(page, name, reason):
    page.get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name="Reject").click()
    dialog = page.get_by_role("dialog", name=f"Reject {name}?")
    dialog.get_by_label("Reason (optional)").fill(reason)
    dialog.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text(f"Rejected {name}")


def book_first_free_slot(page, url):
    """The participant's side: open the booking link, take the first time offered."""
    page.goto(url)
    expect(page.get_by_role("heading", name="Book your session")).to_be_visible()
    # The page switches to the browser's time zone when it differs from the study's.
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page.get_by_label("Your time zone")).to_have_value(zone)
    first = page.locator("fieldset.slot-day").first
    day = first.locator("legend").inner_text()
    slot = first.locator("label.slot").first
    # The instant booked (the label reads it on the browser's own clock, with seats left).
    moment = slot.locator("time").get_attribute("datetime")
    slot.locator("input").check()
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("Your session is booked.")).to_be_visible()
    return day, moment


def money(value):
    """A Decimal as pages show it: $1,234.00."""
    return f"${value:,.2f}"


def hours_until_after(moment, *, margin_minutes=5):
    """Hours (in the console's tenths) from the test clock's now until just after `moment`."""
    import math

    from rally import clock

    minutes = (moment - clock.now()).total_seconds() / 60 + margin_minutes
    return math.ceil(minutes / 6) / 10


def confirm_in_dialog(page, question, button):
    """Accept Rally's own confirmation dialog (never the browser's confirm())."""
    dialog = page.get_by_role("dialog", name=question)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()


def complete_and_send_payment(page, name):
    page.get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name="Complete & Send payment").click()
    confirm_in_dialog(page, re.compile(rf"^Send {re.escape(name)}'s incentive of \$[\d,.]+ now\?$"),
                      "Complete & Send payment")
    expect(page.get_by_role("status")).to_contain_text("Session completed.")


def session_mark(page, name, outcome):
    page.get_by_role("button", name=f"Mark {name}'s session {outcome}").click()
    if outcome == "No-show":
        confirm_in_dialog(page, f"Mark {name} as No-show?", "Mark No-show")
    expect(page.get_by_role("status")).to_contain_text(f"Session marked {outcome}")
    expect(page.get_by_role("row").filter(has_text=name).locator(".badge")).to_have_text(
        outcome)


def invite_selected(page, names):
    for name in names:
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Invite selected…").click()
    dialog = page.get_by_role("dialog", name="Invite the selected applicants?")
    dialog.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invited {len(names)}")


def invitation_links():
    """What UI sent each approved applicant: their link to Rally's booking page (read from
    the sandbox, as the participant would read UI's email)."""
    from sandbox.models import Applicant

    return {f"{a.first_name} {a.last_initial}.": a.invitation_url
            for a in Applicant.objects.filter(status="approved")}


def close_and_read_figures(page, study_id):
    """The final billing block's figures once closed, checked against the ledger."""
    from billing.services import study_figures

    figures = study_figures(study_id)
    assert figures["reserved"] == figures["total_spent"] + figures["unused"]
    expected = [("Reserved", figures["reserved"]),
                ("Recruitment Fees", figures["recruitment_fees"]),
                ("Incentives", figures["incentives"]),
                ("Total Spent", figures["total_spent"]),
                ("Unused", figures["unused"])]
    block = page.locator("#money-panel")
    expect(block).to_contain_text("Final billing details")
    for label, value in expected:
        expect(block.get_by_role("row").filter(has_text=label)).to_contain_text(money(value))
    return figures, expected


def b2c_study_published(page, live_server, researcher, *, name, limit, incentive,
                        study_type="Interview", teammates=("Olivia Ortiz",)):
    """A B2C User Interviews study, planned and published by the researcher; its id."""
    sign_in(page, live_server, researcher)
    study_id = study_create(page, live_server, name=name, study_type=study_type)
    plan_fill(page, description=f"{name}: tell us about it.", limit=limit,
              incentive=incentive, teammates=teammates)
    audience_b2c(page)
    publish(page)
    return study_id


def started_by(page, live_server, membership, study_id, *, add_funds, shows=()):
    sign_in(page, live_server, membership)
    page.goto(f"{live_server.url}/studies/{study_id}/")
    start_recruitment(page, add_funds=add_funds, shows=shows)


def test_task_add(page, title, instructions):
    page.get_by_role("link", name="Test", exact=True).click()
    form = page.get_by_role("region", name="Add a task")
    form.get_by_label("Task title").fill(title)
    form.get_by_label("Instructions").fill(instructions)
    with page.expect_response(lambda response: "/test/tasks/" in response.url):
        form.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def console_submit_test(page, live_server, name):
    console(page, live_server)
    page.get_by_role("row", name=re.compile(re.escape(name))).get_by_role(
        "button", name="Submit test").click()
    expect(page.get_by_text("Submitted; the session is ready to complete.")).to_be_visible()


def applicants_invited(page, live_server, worker, researcher, *, study_id, name, count):
    """UI approves the started study and sends `count` applicants; the researcher invites them
    all from the Participants tab. Their names, top to bottom."""
    worker.drain()
    console_review(page, live_server, name)
    worker.drain()
    console_generate(page, live_server, name, count)
    worker.drain()
    sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/studies/{study_id}/participants/")
    expect(page.locator("tbody tr")).to_have_count(count)
    names = participant_names(page)
    invite_selected(page, names)
    worker.drain()
    return names


def ui_pays(page, live_server, worker):
    """Two simulation runs at UI, each followed by Rally's worker: a requested payment moves
    along at UI and UI tells Rally it was paid."""
    for _ in range(2):
        console_tick(page, live_server)
        worker.drain()


def paid_then_closed(page, live_server, ops_manager, study_id, names, worker):
    """The Ops Manager sees everyone Paid (payments and Participants tab), closes the study and
    reads the final billing figures; returns them."""
    sign_in(page, live_server, ops_manager)
    page.goto(f"{live_server.url}/budgets/payments/")
    for name in names:
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Paid")
    page.goto(f"{live_server.url}/studies/{study_id}/participants/")
    for name in names:  # the participants are Paid too (SPEC P4)
        expect(page.get_by_role("row").filter(has_text=name).locator(".badge")).to_have_text(
            "Paid")
    page.goto(f"{live_server.url}/studies/{study_id}/")
    status_change(page, "Closed", confirm="Close study")
    worker.drain()
    figures, _ = close_and_read_figures(page, study_id)
    return figures

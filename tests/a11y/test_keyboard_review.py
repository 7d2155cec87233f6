"""The review flow with the keyboard alone (SPEC accessibility): Tab reaches the
Participants tab and its controls in document order with a visible focus ring; the row menu
opens with Enter or ArrowDown, moves with the arrows and closes with Escape back on its
button; the Reject dialog is modal (Tab never reaches the page behind it) and Escape returns
focus to its opener."""

from datetime import timedelta
from itertools import pairwise

import pytest
from playwright.sync_api import expect

from participants.models import Application, Participant
from rally import clock
from tests.conftest import PASSWORD
from tests.participants.factories import StudyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the focused element is and whether focus shows: a ring (outline) or a shadow.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const dialog = el.closest("dialog[open]");
  return {
    tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || "",
    name: (el.getAttribute("aria-label") || el.textContent || el.value || "").trim()
            .replace(/\\s+/g, " ").slice(0, 60),
    id: el.id, visible: el.matches(":focus-visible"),
    ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
          || style.boxShadow !== "none",
    inDialog: dialog ? dialog.id : null,
    nav: el.closest("nav") ? el.closest("nav").getAttribute("aria-label") : null,
  };
}"""
# True when `a` comes before `b` in the document (Tab must not jump backwards).
BEFORE = """([a, b]) => !!(document.getElementById(a).compareDocumentPosition(
  document.getElementById(b)) & Node.DOCUMENT_POSITION_FOLLOWING)"""


@pytest.fixture
def study(workspace, researcher):
    study = StudyFactory(workspace=workspace, owner=researcher.user, participation_limit=10,
                         name="Developer onboarding interviews")
    now = clock.now()
    people = Participant.objects.bulk_create([
        Participant(workspace=workspace, ui_participant_id=f"kb-{n}", first_name=name,
                    last_initial="Q", created_at=now, updated_at=now)
        for n, name in enumerate(["Ada", "Ben", "Cleo"])])
    Application.objects.bulk_create([
        Application(study=study, participant=person, ui_applicant_id=f"kb-app-{n}",
                    status="applied", screener_version=1, source="user_interviews",
                    applied_at=now - timedelta(minutes=5 * n), created_at=now, updated_at=now)
        for n, person in enumerate(people)])
    return study


def _focused(page):
    return page.evaluate(FOCUSED)


def _tab_to(page, name, *, role=None, nav=None, limit=120, seen=None):
    """Press Tab until the focused element is called `name`; every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        assert focused["tag"] != "body", f"focus fell off the page after {seen}"
        assert focused["visible"] and focused["ring"], f"no visible focus on {focused}"
        if seen is not None:
            seen.append(focused)
        if focused["name"] == name and (role is None or focused["role"] == role) \
                and (nav is None or focused["nav"] == nav):
            return focused
    raise AssertionError(f"Tab never reached {name!r}")


def test_review_flow_with_the_keyboard_alone(live_server, page, study, researcher,
                                             axe_violations):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").focus()
    page.keyboard.type(researcher.user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{live_server.url}/studies/{study.id}/")
    # The skip link comes first and leads to the content.
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Skip to content"
    _tab_to(page, "Participants", nav="Study sections")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Participants")).to_be_visible()

    # Tab walks the tab's controls in document order and reaches the first row's menu.
    seen = []
    _tab_to(page, "Actions for Ada Q.", seen=seen)
    with_ids = [stop["id"] for stop in seen if stop["id"]]
    assert all(page.evaluate(BEFORE, [a, b]) for a, b in pairwise(with_ids)), with_ids
    assert any(stop["name"].startswith("Applied") for stop in seen), "status filter skipped"
    assert any(stop["id"].startswith("select-") for stop in seen), "row checkboxes skipped"

    button = page.get_by_role("button", name="Actions for Ada Q.")
    menu = page.get_by_role("menu", name="Actions for Ada Q.")
    # Enter opens the menu on its first item; arrows move and wrap; Escape closes it.
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("menuitem", name="View profile")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Invite")).to_be_focused()
    page.keyboard.press("End")
    expect(menu.get_by_role("menuitem", name="Reject")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="View profile")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(menu.get_by_role("menuitem", name="Reject")).to_be_focused()
    assert _focused(page)["ring"]
    assert not axe_violations(page)  # the open menu too
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    # ArrowDown opens it too; ArrowUp on the button opens it on the last item.
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="View profile")).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()
    page.keyboard.press("ArrowUp")
    reject_item = menu.get_by_role("menuitem", name="Reject")
    expect(reject_item).to_be_focused()

    # The Reject dialog: focus moves in; it is modal (showModal), so Tab and Shift+Tab never
    # reach the page behind it: they walk the dialog and, past its ends, the browser's own
    # controls (the document's body is focused meanwhile). Escape closes it and focus goes
    # back to where it came from.
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Reject Ada Q.?")
    expect(dialog).to_be_visible()
    dialog_id = dialog.get_attribute("id")
    assert _focused(page)["inDialog"] == dialog_id
    in_dialog = 0
    for key in ["Tab"] * 6 + ["Shift+Tab"] * 6:
        page.keyboard.press(key)
        focused = _focused(page)
        if focused["tag"] == "body":
            continue  # out of the page, in the browser's controls
        assert focused["inDialog"] == dialog_id, f"{key} left the dialog for {focused}"
        assert focused["visible"] and focused["ring"], f"no visible focus on {focused}"
        in_dialog += 1
    assert in_dialog >= 8
    assert not axe_violations(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(menu).to_be_hidden()
    assert Application.objects.filter(study=study, status="applied").count() == 3

    # Rejecting with the keyboard: the reason is typed, Enter on Reject submits.
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.type("Not onboarding anyone this year")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Reject"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Rejected Ada Q.")
    assert Application.objects.get(ui_applicant_id="kb-app-0").rejection_reason == (
        "Not onboarding anyone this year")

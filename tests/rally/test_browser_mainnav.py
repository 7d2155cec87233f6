"""The main navigation of an Admin (all eight links) stays on one line from 1200 px wide, and
below that takes a row of its own that scrolls sideways instead of widening the page."""

import pytest
from playwright.sync_api import expect

from tests.e2e import flow

LINKS = ["Dashboard", "Studies", "Participants", "Budgets", "Receipts", "Reports",
         "Workspace settings", "Calendar"]


def _rows(page):
    """The distinct top edges of the main navigation's links, and of the brand."""
    return page.evaluate("""() => ({
        links: [...new Set([...document.querySelectorAll('.mainnav a')]
                           .map(a => Math.round(a.getBoundingClientRect().top)))],
        brand: Math.round(document.querySelector('.brand').getBoundingClientRect().top),
        names: [...document.querySelectorAll('.mainnav a')].map(a => a.textContent.trim()),
        pageWidth: document.documentElement.scrollWidth,
    })""")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admins_navigation_fits_one_line_and_degrades_below(live_server, page, workspace,
                                                                 admin):
    workspace.name = "Acme Research and Development Worldwide"
    workspace.save()
    page.set_viewport_size({"width": 1280, "height": 800})
    flow.sign_in(page, live_server, admin)
    page.wait_for_url(f"{live_server.url}/")

    for width in (1440, 1280, 1200):
        page.set_viewport_size({"width": width, "height": 800})
        rows = _rows(page)
        assert rows["names"] == LINKS
        assert len(rows["links"]) == 1, (width, rows)
        assert rows["pageWidth"] == width

    page.set_viewport_size({"width": 1024, "height": 800})
    rows = _rows(page)
    assert len(rows["links"]) == 1, rows
    assert rows["links"][0] > rows["brand"] + 20  # a row of its own, under the brand
    assert rows["pageWidth"] == 1024  # the row scrolls, the page does not

    # Phone width: the links fold behind "Menu"; opened, every one is on screen, in order,
    # reached by keyboard, with its outline; Escape folds them and returns to the button.
    for width in (480, 390):
        page.set_viewport_size({"width": width, "height": 800})
        menu = page.get_by_role("button", name="Menu")
        nav = page.get_by_role("navigation", name="Main")
        expect(menu).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
        menu.focus()
        page.keyboard.press("Enter")  # opens, on the first link
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
        assert _rows(page)["names"] == LINKS
        for name in LINKS:
            link = nav.get_by_role("link", name=name)
            expect(link).to_be_in_viewport()
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
        calendar = nav.get_by_role("link", name="Calendar")
        for _ in LINKS[1:]:
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Calendar"
        assert calendar.evaluate("a => getComputedStyle(a).outlineStyle") == "solid"
        page.keyboard.press("Escape")
        expect(menu).to_be_focused()
        expect(menu).to_have_attribute("aria-expanded", "false")
        assert page.evaluate("document.documentElement.scrollWidth") == width

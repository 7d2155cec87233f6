"""The main navigation of an Admin (all eight links) stays on one line from 1200 px wide, and
below that takes a row of its own that scrolls sideways instead of widening the page."""

import pytest

from tests.conftest import PASSWORD

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
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    for width in (1440, 1280, 1200):
        page.set_viewport_size({"width": width, "height": 800})
        rows = _rows(page)
        assert rows["names"] == LINKS
        assert len(rows["links"]) == 1, (width, rows)
        assert rows["pageWidth"] == width

    for width in (1024, 480):
        page.set_viewport_size({"width": width, "height": 800})
        rows = _rows(page)
        assert len(rows["links"]) == 1, (width, rows)
        assert rows["links"][0] > rows["brand"] + 20  # a row of its own, under the brand
        assert rows["pageWidth"] == width  # the row scrolls, the page does not

    # Keyboard: the last link, off-screen at 480 px, is reached and shown with its outline.
    calendar = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar")
    calendar.focus()
    assert page.evaluate("document.activeElement.textContent") == "Calendar"
    box = calendar.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 480
    outline = calendar.evaluate("a => getComputedStyle(a).outlineStyle")
    assert outline == "solid"

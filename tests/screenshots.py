"""Screenshots of the pages the browser tests walk, for a person to look at: taken only when
RALLY_SCREENSHOTS names a folder (`RALLY_SCREENSHOTS=.var/screenshots make test`)."""

import os
from pathlib import Path


def screenshot(page, name, widths=()):
    """A full-page screenshot named `name`.png in the folder $RALLY_SCREENSHOTS names, for a
    person to look at; nothing when it is not set (make test does not set it). With `widths`,
    one `name`-width.png at each width, then the viewport as it was."""
    folder = os.environ.get("RALLY_SCREENSHOTS")
    if not folder:
        return
    if widths:
        viewport = page.viewport_size
        for width in widths:
            page.set_viewport_size({"width": width, "height": viewport["height"]})
            screenshot(page, f"{name}-{width}")
        page.set_viewport_size(viewport)
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a sticky header is drawn mid-page otherwise
    # caret="initial": hiding the caret injects a style the pages' CSP refuses (a console error).
    page.screenshot(path=Path(folder) / f"{name}.png", full_page=True, caret="initial")

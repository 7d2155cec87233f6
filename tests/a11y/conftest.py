"""axe-core (npm, see package.json) injected into the page by Playwright: no CDN."""

from pathlib import Path

import pytest
from django.urls import reverse

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What fails a page: WCAG 2.x A/AA rules and axe's best practices, at these impacts.
BLOCKING = ("serious", "critical")


@pytest.fixture
def browser_context_args(browser_context_args):
    """Rally's Content-Security-Policy refuses inline scripts: let the test inject axe."""
    return {**browser_context_args, "bypass_csp": True}


def axe_script(path=AXE):
    """axe-core's source; its absence fails the test run loudly instead of skipping."""
    if not path.is_file():
        pytest.fail(f"axe-core is missing ({path}): run `npm ci` (make test does it).",
                    pytrace=False)
    return path.read_text()


@pytest.fixture(scope="session")
def axe_source():
    return axe_script()


@pytest.fixture
def axe_violations(axe_source):
    """`axe_violations(page)`: the page's serious and critical violations as readable lines."""

    def run(page, *, context=None):
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=axe_source)
        result = page.evaluate(
            """async (context) => {
                const results = await axe.run(context || document, {
                  runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                  "wcag22aa", "best-practice"]},
                  resultTypes: ["violations"],
                });
                return results.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(" ") + " " + n.html.slice(0, 120)
                                          + " — " + n.failureSummary
                                          .replace(/\\s+/g, " ").slice(0, 240)),
                }));
            }""", context)
        return [f"[{v['impact']}] {v['id']}: {v['help']}\n      " + "\n      ".join(v["nodes"][:5])
                for v in result if v["impact"] in BLOCKING]

    return run


def log_in(page, live_server, email, password):
    """Sign in through the login page and wait until it is left."""
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def assert_no_problems(found):
    """`found` is {page name: its violations}: fail listing every page that has any."""
    problems = {name: lines for name, lines in found.items() if lines}
    assert not problems, "\n".join(
        f"{name}:\n    " + "\n    ".join(lines) for name, lines in problems.items())

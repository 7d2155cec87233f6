"""Money visibility (SPEC W2, QUALITY "Money visibility"): every page and htmx partial
reachable from the navigation, crawled as each role on a workspace with an open and a closed
study, shows no money figure where the permission matrix forbids it.

The figures are read from the ledger (transfers, budgets, each study's figures and receipt),
with amounts chosen so that no two studies share one. The incentive amount offered to
participants is part of the plan (visible to all who see the study), so it is allowed.
"""

import re
from collections import deque
from decimal import Decimal
from html import unescape
from urllib.parse import urlsplit

import pytest

from billing.models import Budget, Receipt, Transfer
from billing.money import money_format
from billing.selectors import budget_figures_for
from billing.services import study_figures
from rally import clock
from recruitment.models import Recruitment
from recruitment.workflows import study_status_change
from scheduling.services import session_complete_and_pay
from studies.selectors import study_cost_for
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db

LINK = re.compile(r'(?:href|data-hx-get)="(/[^"#]*)"')
PARTIAL = re.compile(r'data-hx-get="(/[^"#]*)"')
SKIP = ("/logout", "/sandbox", "/_sandbox", "/static/", "/book/", "/webhooks/", "/admin")
MAX_PAGES = 400
MAX_PER_PATH = 3  # filtered and paged variants of one page


def _world(admin, researcher):
    """An open study on the Researcher's team and a closed one that is not."""
    ours = funded_ui_study(admin, limit=3, fee="65.00", incentive="75.00", name="Our study")
    ours.owner = researcher.user
    ours.save(update_fields=["owner"])
    theirs = funded_ui_study(admin, limit=4, fee="41.00", incentive="55.00",
                             name="Their study")
    for study in (ours, theirs):
        Recruitment.objects.create(study=study, state=Recruitment.State.RECRUITING,
                                   ui_recruit_id=f"rec_{study.pk.hex[:8]}",
                                   created_at=clock.now(), updated_at=clock.now())
    session_complete_and_pay(membership=admin, session_id=ended_session(ours).pk)
    ended_session(theirs)  # left unmarked: paid when the study closes
    study_status_change(membership=admin, study=theirs, to="closed")
    assert Receipt.objects.filter(study_id=theirs.pk).exists()
    return ours, theirs


def _figures_of_study(study):
    amounts = set(Transfer.objects.filter(study_id=study.pk).values_list("amount", flat=True))
    amounts |= {value for value in study_figures(study.pk).values()
                if isinstance(value, Decimal)}
    for receipt in Receipt.objects.filter(study_id=study.pk):
        amounts |= {receipt.reserved, receipt.total_spent, receipt.unused}
    cost = study_cost_for(study)  # estimated costs are money figures too (W2)
    amounts |= {cost.recruitment_fee, cost.fees_total, cost.incentives_total, cost.total}
    return {amount for amount in amounts if amount is not None}


def _workspace_figures(workspace):
    amounts = set(Transfer.objects.filter(workspace=workspace, study_id=None)
                  .values_list("amount", flat=True))
    for figures in budget_figures_for(list(Budget.objects.filter(workspace=workspace))).values():
        amounts |= {figures.available, figures.reserved, figures.spent}
    return amounts


def _words(amounts, allowed):
    return {money_format(amount) for amount in amounts
            if amount and amount not in allowed}


def _crawl(client):
    """GET every internal link and htmx partial reachable from the dashboard."""
    seen, per_path, bodies = set(), {}, {}
    queue = deque([("/", False)])
    while queue and len(bodies) < MAX_PAGES:
        url, partial = queue.popleft()
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIP) or path.endswith(".pdf"):
            continue
        seen.add(url)
        if per_path.get(path, 0) >= MAX_PER_PATH:
            continue
        per_path[path] = per_path.get(path, 0) + 1
        response = client.get(url, **({"HTTP_HX_REQUEST": "true"} if partial else {}))
        assert response.status_code < 500, url
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        body = response.content.decode()
        bodies[url] = body
        partials = set(PARTIAL.findall(body))
        for link in LINK.findall(body):
            link = unescape(link)
            queue.append((link, link in partials))
    return bodies


def _leaks(bodies, forbidden):
    found = []
    for url, body in bodies.items():
        text = unescape(body)
        found += [(url, figure) for figure in forbidden if figure in text]
    return found


@pytest.mark.parametrize("role", ["admin", "ops_manager", "researcher", "observer"])
def test_no_money_figure_where_the_matrix_forbids_it(role, request, admin, ops_manager,
                                                     researcher, observer, client_for):
    ours, theirs = _world(admin, researcher)
    workspace = admin.workspace
    plan = {ours.incentive_amount, theirs.incentive_amount}  # part of the plan: for all
    ours_figures, theirs_figures = _figures_of_study(ours), _figures_of_study(theirs)
    every = _words(_workspace_figures(workspace) | ours_figures | theirs_figures, plan)
    forbidden = {
        "admin": set(),
        "ops_manager": set(),
        # A Researcher reads their own team's figures, nothing else.
        "researcher": every - _words(ours_figures, plan),
        "observer": every,
    }[role]
    assert role in ("admin", "ops_manager") or forbidden
    membership = request.getfixturevalue(role)
    bodies = _crawl(client_for(membership))
    assert len(bodies) > 15, sorted(bodies)  # the crawl reached the study pages
    assert any(str(theirs.pk) in url for url in bodies)
    assert any(str(ours.pk) in url for url in bodies)
    leaks = _leaks(bodies, forbidden)
    assert leaks == [], "\n".join(f"{url} shows {figure}" for url, figure in leaks)

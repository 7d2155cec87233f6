"""Twenty people pressing "Start Recruitment" at once on two studies that share a budget:
every answer is a page or a refusal, never a 500 (no deadlock between the studies' locks),
and the money is right (QUALITY.md invariants 3, 4, 7)."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from billing.models import Reservation
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from studies.services import characteristics_replace
from tests.billing.factories import BudgetFactory, funds_add
from tests.recruitment.start_support import startable_study
from tests.studies.factories import CATALOG

pytestmark = pytest.mark.django_db(transaction=True)

# One start reserves 8 × ($65 + $75) = $1,120.00; the budget covers both.
ESTIMATE = Decimal("1120.00")


def test_twenty_concurrent_starts_of_two_studies_on_one_budget_never_answer_500(
        workspace, admin, ops_manager, researcher, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    characteristics_replace(items=CATALOG)
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "5000.00", "PO-5000")
    studies = [startable_study(workspace=workspace, owner=researcher.user,
                               team_member=ops_manager.user) for _ in range(2)]
    people = [admin.user, ops_manager.user]
    count = 20
    barrier = threading.Barrier(count)
    answers = [None] * count

    def start(i):
        client = Client(raise_request_exception=False)
        client.force_login(people[i % 2])
        study = studies[(i // 2) % 2]
        try:
            barrier.wait()
            answers[i] = client.post(reverse("recruitment:start", args=[study.id]),
                                     {"budget": str(budget.id)}).status_code
        finally:
            close_old_connections()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    tally = Counter(answers)
    assert tally[500] == 0, tally
    assert set(tally) <= {302, 400}, tally
    assert tally[302] == 2, tally  # each study started once; the rest were told why not
    assert Reservation.objects.count() == 2
    figures = budget_figures_for([budget])[budget.pk]
    assert figures.reserved == 2 * ESTIMATE
    assert figures.available == Decimal("5000.00") - 2 * ESTIMATE
    assert ledger_problems() == []

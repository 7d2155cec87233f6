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
from tests.recruitment.factories import RecruitmentFactory
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


def _someone_waits_on_a_lock():
    from django.db import connection

    with connection.cursor() as cursor:
        # Inside a transaction Postgres answers from one snapshot of the statistics, taken
        # at the first read: drop it, or a waiter arriving later is never seen.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0] > 0


def test_news_from_ui_waits_for_a_start_holding_the_study_instead_of_deadlocking(
        workspace, researcher, ops_manager):
    """A start holds the study row and then needs the recruitment row; UI's news of the
    same study (the sync) arrives in between. The sync takes the study first, as a start
    does, so it waits holding nothing, and both finish."""
    from django.db import transaction

    from rally import clock
    from recruitment.models import Recruitment
    from recruitment.sync import recruitment_mark_failed
    from studies.models import Study

    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    RecruitmentFactory(study=study)
    study_locked = threading.Event()
    errors = []

    def start_like():
        try:
            with transaction.atomic():
                Study.objects.select_for_update(of=("self",)).get(pk=study.pk)
                study_locked.set()
                for _ in range(600):  # until the sync waits on a lock (bounded)
                    if _someone_waits_on_a_lock():
                        break
                    threading.Event().wait(0.05)
                recruitment = Recruitment.objects.select_for_update(of=("self",)).get(
                    study=study)
                recruitment.updated_at = clock.now()
                recruitment.save(update_fields=["updated_at"])
        except Exception as error:
            errors.append(error)
        finally:
            close_old_connections()

    def sync():
        try:
            study_locked.wait(30)
            recruitment_mark_failed(study_id=study.pk, reason="UI could not create it",
                                    actor_label="task:outbox")
        except Exception as error:
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=start_like), threading.Thread(target=sync)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Recruitment.objects.get(study=study).state == Recruitment.State.FAILED

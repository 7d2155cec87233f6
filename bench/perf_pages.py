"""perf-queries, perf-scale and perf-page: the pages people open most, through the whole
Django stack (test client, one process), at a small and at a large size.

- perf-queries: SQL queries of the Participants tab, the study overview, the studies list
  and the budgets page in a small workspace (10 studies and reservations, a study with 100
  applicants) and in a large one (1,000 studies and reservations, a study with 10,000
  applicants): the same count at both sizes, <= 15 per page. One figure per page
  (`perf-queries-<page>`) and `perf-queries`, the largest count, ok when every page is.
- perf-scale: median latency of the Participants tab at 10,000 applicants ÷ at 100.
- perf-page: median latency of the study overview ÷ a minimal authenticated page (the
  New Study form) of the same workspace and server. The overview's recruitment metrics
  card loads after the page (its own request, pinned at 9 queries in
  tests/recruitment/test_metrics.py), so it is not part of the overview's figure: in Nov
  2026 the overview went from 13 queries and ~2.9-4x to 9 queries and ~1.9x.

Latencies are medians of REQUESTS requests each after WARMUP, the two pages of a ratio
taken in alternation so that a busy machine slows both alike. Runs in a database of its
own (created, migrated and dropped here).
"""

import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.urls import reverse

from bench.support import own_database

SMALL, LARGE = (100, 10), (10_000, 1_000)  # (applicants of the tab's study, studies)
WARMUP = 5
REQUESTS = 41
MAX_QUERIES = 15
TARGET_SCALE = 1.5
TARGET_PAGE = 3.0
PAGES = ("participants", "overview", "studies", "budgets")


def _workspace(applicants, studies):
    """A workspace with `studies` active studies, each with a reservation, the first with
    `applicants` applicants. Returns (signed-in client, the first study)."""
    from billing.services import (
        budget_add_funds_nested,
        budget_default_ensure,
        budget_reserve_for_study,
    )
    from participants.models import Application, Participant
    from rally import clock
    from rally.models import Membership, User, Workspace
    from rally.permissions import Role
    from studies.models import Study

    now = clock.now()
    tag = uuid.uuid4().hex[:8]
    workspace = Workspace.objects.create(name=f"Bench pages {studies} {tag}")
    user = User.objects.create_user(email=f"bench-pages-{tag}@example.test")
    membership = Membership.objects.create(workspace=workspace, user=user, role=Role.ADMIN)
    rows = Study.objects.bulk_create([
        Study(workspace=workspace, owner=user, name=f"Study {n:04}", status="active",
              source="user_interviews", participation_limit=10,
              incentive_amount=Decimal("50.00"), countries=["US"],
              created_at=now - timedelta(minutes=n), updated_at=now - timedelta(minutes=n))
        for n in range(studies)])
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds_nested(membership=membership, budget=budget,
                            amount=Decimal(studies * 1_000), reference="Bench",
                            key=uuid.uuid4())
    for study in rows:
        budget_reserve_for_study(budget=budget, study_id=study.pk, study_name=study.name,
                                 participation_limit=10, fee=Decimal("39.00"),
                                 incentive=Decimal("50.00"), actor="bench")
    study = rows[0]
    people = Participant.objects.bulk_create([
        Participant(workspace=workspace, ui_participant_id=f"{study.pk}-{n}",
                    first_name=f"Person{n}", last_initial="B", created_at=now, updated_at=now)
        for n in range(applicants)], batch_size=2000)
    statuses = list(Application.Status.values)
    Application.objects.bulk_create([
        Application(study=study, participant=person, ui_applicant_id=f"{study.pk}-app-{n}",
                    status=statuses[n % len(statuses)], applied_at=now - timedelta(minutes=n),
                    screener_version=1, created_at=now, updated_at=now,
                    matched_criteria=[{"characteristic": "job_function", "values": ["e"]}])
        for n, person in enumerate(people)], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    browser = Client()
    browser.force_login(user)
    return browser, study


def _urls(study):
    return {
        "participants": reverse("participants:study_participants",
                                kwargs={"study_id": study.pk}),
        "overview": reverse("studies:study_overview", kwargs={"study_id": study.pk}),
        "studies": reverse("studies:study_list"),
        "budgets": reverse("billing:budgets"),
        "minimal": reverse("recruitment:study_create"),
    }


def _get(browser, url):
    response = browser.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")


def _queries(browser, url):
    _get(browser, url)  # the first request may fill caches
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        _get(browser, url)
    return len(executed)


def _medians(first, second):
    """Median milliseconds of two (browser, url) pages, requested in alternation."""
    for browser, url in (first, second):
        for _ in range(WARMUP):
            _get(browser, url)
    timings = ([], [])
    for _ in range(REQUESTS):
        for (browser, url), times in zip((first, second), timings, strict=True):
            started = time.perf_counter()
            _get(browser, url)
            times.append((time.perf_counter() - started) * 1000)
    return tuple(statistics.median(times) for times in timings)


def _measure():
    (small, small_study), (large, large_study) = _workspace(*SMALL), _workspace(*LARGE)
    small_urls, large_urls = _urls(small_study), _urls(large_study)
    queries = {page: (_queries(small, small_urls[page]), _queries(large, large_urls[page]))
               for page in PAGES}
    tab_small, tab_large = _medians((small, small_urls["participants"]),
                                    (large, large_urls["participants"]))
    overview, minimal = _medians((small, small_urls["overview"]),
                                 (small, small_urls["minimal"]))
    return queries, (tab_small, tab_large), (overview, minimal)


def run():
    with own_database("pages"):
        queries, (tab_small, tab_large), (overview, minimal) = _measure()
    figures = {}
    for page, (small, large) in queries.items():
        figures[f"perf-queries-{page}"] = {
            "value": large, "unit": "queries", "target": f"== {small} (small), <= {MAX_QUERIES}",
            "ok": large == small <= MAX_QUERIES}
    figures["perf-queries"] = {
        "value": max(large for _, large in queries.values()), "unit": "queries (max)",
        "target": f"same at both sizes, <= {MAX_QUERIES} per page",
        "ok": all(figures[f"perf-queries-{page}"]["ok"] for page in PAGES)}
    scale = round(tab_large / tab_small, 2)
    figures["perf-scale"] = {
        "value": scale, "unit": f"x ({tab_large:.0f} ÷ {tab_small:.0f} ms)",
        "target": f"<= {TARGET_SCALE:g}", "ok": scale <= TARGET_SCALE}
    page = round(overview / minimal, 2)
    figures["perf-page"] = {
        "value": page, "unit": f"x ({overview:.0f} ÷ {minimal:.0f} ms)",
        "target": f"<= {TARGET_PAGE:g}", "ok": page <= TARGET_PAGE}
    return figures

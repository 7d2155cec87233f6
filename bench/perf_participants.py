"""perf-queries and perf-scale for the Participants tab: SQL queries and median latency of
the page at 100 and at 10,000 applicants, through the whole Django stack.

Creates its own workspace, researcher, two studies and their applicants, and removes them.
"""

import logging
import statistics
import time
import uuid
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.urls import reverse

from participants.models import Application, Participant
from rally import clock
from rally.models import Membership, User, Workspace
from studies.models import Study

SIZES = (100, 10_000)
REQUESTS = 30


def _study_with_applicants(workspace, owner, count):
    now = clock.now()
    study = Study.objects.create(workspace=workspace, owner=owner, name=f"{count} applicants",
                                 source="user_interviews", participation_limit=10,
                                 countries=["US"], created_at=now, updated_at=now)
    people = Participant.objects.bulk_create([
        Participant(workspace=workspace, ui_participant_id=f"{study.pk}-{n}",
                    first_name=f"Person{n}", last_initial="B", created_at=now, updated_at=now)
        for n in range(count)], batch_size=2000)
    statuses = list(Application.Status.values)
    Application.objects.bulk_create([
        Application(study=study, participant=person, ui_applicant_id=f"{study.pk}-app-{n}",
                    status=statuses[n % len(statuses)], applied_at=now - timedelta(minutes=n),
                    screener_version=1, created_at=now, updated_at=now,
                    matched_criteria=[{"characteristic": "job_function", "values": ["e"]}])
        for n, person in enumerate(people)], batch_size=2000)
    return study


def _measure(browser, url):
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = browser.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    for _ in range(5):
        browser.get(url)
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        browser.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return len(executed), statistics.median(timings)


def run():
    tag = uuid.uuid4().hex[:8]
    workspace = Workspace.objects.create(name=f"Bench participants {tag}")
    user = User.objects.create_user(email=f"bench-participants-{tag}@example.test")
    Membership.objects.create(user=user, workspace=workspace, role="researcher")
    studies = [_study_with_applicants(workspace, user, size) for size in SIZES]
    logging.disable(logging.INFO)
    try:
        browser = Client()
        browser.force_login(user)
        figures = [_measure(browser, reverse("participants:study_participants",
                                             kwargs={"study_id": study.pk}))
                   for study in studies]
    finally:
        logging.disable(logging.NOTSET)
        Application.objects.filter(study__in=studies).delete()
        Participant.objects.filter(workspace=workspace).delete()
        Study.objects.filter(pk__in=[study.pk for study in studies]).delete()
        Membership.objects.filter(workspace=workspace).delete()
        workspace.delete()
        user.delete()
    (small_queries, small_ms), (large_queries, large_ms) = figures
    ratio = round(large_ms / small_ms, 2)
    return {
        "perf-queries-participants": {
            "value": large_queries, "unit": "queries", "target": f"== {small_queries}, <= 15",
            "ok": large_queries == small_queries and large_queries <= 15},
        "perf-scale": {
            "value": ratio, "unit": "x (10,000 ÷ 100)", "target": "<= 1.5",
            "ok": ratio <= 1.5},
    }

"""The study overview reads a fixed number of queries however many people applied
(QUALITY perf-queries: the same count at both sizes, at most 15). The Participants tab
is pinned the same way in test_review_profile.py, the studies list in studies/test_pages.py."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participants.models import Application, Participant
from rally import clock
from tests.participants.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _applicants(study, count, start):
    now = clock.now()
    people = Participant.objects.bulk_create([
        Participant(workspace=study.workspace, ui_participant_id=f"qc-{study.pk}-{n}",
                    first_name=f"Person{n}", last_initial="Q", created_at=now, updated_at=now)
        for n in range(start, start + count)])
    statuses = list(Application.Status.values)
    Application.objects.bulk_create([
        Application(study=study, participant=person, ui_applicant_id=f"qc-app-{person.pk}",
                    status=statuses[n % len(statuses)], applied_at=now - timedelta(minutes=n),
                    screener_version=1, created_at=now, updated_at=now)
        for n, person in enumerate(people)])


def test_overview_reads_the_same_queries_with_3_and_300_applicants(client_for, researcher,
                                                                   workspace):
    study = StudyFactory(workspace=workspace, owner=researcher.user)
    client = client_for(researcher)
    url = reverse("studies:study_overview", args=[study.pk])
    _applicants(study, 3, 0)
    client.get(url)
    small = _queries(client, url)
    _applicants(study, 297, 3)
    assert _queries(client, url) == small
    assert small <= 15

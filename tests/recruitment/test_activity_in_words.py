"""Activity in a person's words (issue 16, SPEC N2): after the demo's full flows — started,
applicants, bookings, payouts in every state, a study closed with its receipt, a panel
study's incentives — neither the dashboard nor any study's Activity tab shows User
Interviews' payment or event ids or an actor's "participant:" prefix."""

import os
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from rally.models import ActivityEntry, User
from studies.models import Study

pytestmark = pytest.mark.django_db

MACHINE_WORDS = re.compile(r"\b(?:pay|evt)_\w+|participant:")


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.SANDBOX_ENABLED = False
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_no_summary_carries_an_id_or_a_prefix(seeded):
    actions = {entry.action for entry in ActivityEntry.objects.all()}
    # The flows the demo ran, so the test reads a full study's life and not an empty feed.
    assert {"payout.sent", "payout.paid", "billing.receipt_issued"} <= actions
    leaks = [(entry.action, entry.summary) for entry in ActivityEntry.objects.all()
             if MACHINE_WORDS.search(entry.summary)]
    assert leaks == []


def test_the_dashboard_and_every_activity_tab_read_in_words(seeded, client):
    client.force_login(User.objects.get(email="admin@example.com"))
    pages = [reverse("home")] + [reverse("studies:study_activity", args=[study_id])
                                 for study_id in Study.objects.values_list("pk", flat=True)]
    assert len(pages) > 3
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found = MACHINE_WORDS.findall(response.content.decode())
        assert found == [], (url, found)

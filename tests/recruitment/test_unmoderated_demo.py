"""The demo's paused Unmoderated Test (UI.md "Demo workspace"): tasks, completions with their
payouts, a ledger that reconciles, and a seed that can run twice."""

import os

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import Payout, Reservation, Transfer
from billing.reconciliation import ledger_problems
from demo.studies import UNMODERATED_STUDY
from rally.models import User
from recruitment.models import Recruitment
from scheduling.models import Session
from studies.models import Study, TestTask

pytestmark = pytest.mark.django_db


def _seed():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.SANDBOX_ENABLED = False
    _seed()
    return Study.objects.get(name=UNMODERATED_STUDY)


def _counts(study):
    return (TestTask.objects.filter(study=study).count(),
            Session.objects.filter(study=study).count(),
            Payout.objects.filter(study_id=study.pk).count(),
            Transfer.objects.filter(study_id=study.pk).count())


def test_the_paused_test_has_tasks_completions_and_payouts_and_seeds_once(seeded):
    study = seeded
    assert study.status == "paused" and study.is_recruitment_locked
    assert Recruitment.objects.get(study=study).state == "paused"
    assert Reservation.objects.get(study_id=study.pk).fee == 26  # B2C unmoderated rate
    assert TestTask.objects.filter(study=study).count() == 3
    sessions = Session.objects.filter(study=study)
    assert sessions.count() == 3 and all(s.host_id is None for s in sessions)
    states = dict(Payout.objects.filter(study_id=study.pk)
                  .values_list("participant_label", "state"))
    assert states == {"Quinn R.": "paid", "Rosa M.": "sent", "Sam K.": "not_sent"}
    counts = _counts(study)
    _seed()
    assert _counts(study) == counts
    assert ledger_problems() == []


def test_the_researcher_can_pay_the_latest_completion_from_the_participants_tab(seeded,
                                                                                client):
    study = seeded
    client.force_login(User.objects.get(email="researcher@example.com"))
    html = client.get(reverse("participants:study_participants", args=[study.id])
                      ).content.decode()
    assert html.count(">Complete &amp; Send payment<") == 1
    html = client.get(reverse("studies:study_test", args=[study.id])).content.decode()
    assert "Find a pair of running shoes in your size" in html

"""An honest hand-off after "Start Recruitment" (SPEC R2, R8): an operation waiting for an
earlier one (launch before create) is progress, not an error, and every status on the
overview agrees while UI reviews the study."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from rally import clock
from rally.models import OutboxOperation
from rally.services import outbox_enqueue
from recruitment.models import Recruitment
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    funded_ui_study,
)
from tests.recruitment.factories import RecruitmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def starting(admin):
    study = funded_ui_study(admin)
    recruitment = RecruitmentFactory(study=study)
    rows = {}
    with transaction.atomic():
        for operation in ("create_recruit", "launch_recruit"):
            rows[operation] = outbox_enqueue(workspace=study.workspace, operation=operation,
                                             subject=study.pk,
                                             payload={"study_id": str(study.pk)},
                                             study_id=study.pk)
    return study, recruitment, rows


def _panel(client, study):
    return client.get(reverse("recruitment:sync_status", args=[study.pk])).content.decode()


def test_a_launch_waiting_for_its_create_shows_progress_without_error_words(starting, admin,
                                                                           client_for):
    study, _, rows = starting
    OutboxOperation.objects.filter(pk=rows["launch_recruit"].pk).update(
        attempts=1, next_attempt_at=clock.now() + timedelta(seconds=30))
    body = _panel(client_for(admin), study)
    for words in ("does not exist", "Tried", "Retry now", "error", "failed"):
        assert words not in body, words
    assert body.count("In progress.") == 2


def test_a_real_error_still_says_so_with_retry_now(starting, admin, client_for):
    study, _, rows = starting
    OutboxOperation.objects.filter(pk=rows["create_recruit"].pk).update(
        attempts=1, last_error="User Interviews did not answer (timeout).")
    body = _panel(client_for(admin), study)
    assert "User Interviews did not answer (timeout)." in body
    assert "Tried 1 time; trying again automatically." in body
    assert body.count("Retry now</button>") == 1  # the waiting launch offers none


def test_the_sync_panel_keeps_refreshing_through_the_review(starting, admin, client_for):
    study, recruitment, rows = starting
    OutboxOperation.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
        status=OutboxOperation.Status.DONE)
    Recruitment.objects.filter(pk=recruitment.pk).update(
        state=Recruitment.State.PENDING_REVIEW)
    assert "data-hx-get" in _panel(client_for(admin), study)  # it will say "Recruiting" too
    Recruitment.objects.filter(pk=recruitment.pk).update(state=Recruitment.State.RECRUITING)
    assert "data-hx-get" not in _panel(client_for(admin), study)


def test_the_stepper_ends_where_the_recruit_stands_at_user_interviews():
    """Filled, paused or closed at UI, the stepper's last step says so, as the sync box
    does, instead of "Recruiting" beside "Filled"."""
    from recruitment.models import Recruitment
    from recruitment.start_views import _steps

    State = Recruitment.State
    assert [step["label"] for step in _steps(State.RECRUITING)][-1] == "Recruiting"
    for state, label in ((State.FILLED, "Filled"), (State.PAUSED, "Paused")):
        steps = _steps(state)
        assert steps[-1] == {"label": label, "done": True, "current": False}
        assert all(step["done"] for step in steps)
    assert [step["current"] for step in _steps(State.PENDING_REVIEW)] == [False, True, False]

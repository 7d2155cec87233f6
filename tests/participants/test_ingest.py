"""Applicants arriving from User Interviews: bulk upserts that converge whatever the order."""

import random

import pytest
from django.db import IntegrityError

from participants.models import Application, Participant
from participants.services import applications_upsert_from_ui
from tests.participants.factories import (
    ApplicationFactory,
    ParticipantFactory,
    StudyFactory,
    applicant_record,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace):
    return StudyFactory(workspace=workspace)


def test_upsert_creates_participants_and_applications(study):
    count = applications_upsert_from_ui(study=study, items=[applicant_record(1),
                                                            applicant_record(2)])
    assert count == 2
    application = Application.objects.select_related("participant").get(ui_applicant_id="app_1")
    assert application.study == study
    assert application.status == "applied"
    assert application.screener_responses == [{"questionUid": "q1", "text": "Daily"}]
    assert application.participant.ui_participant_id == "par_1"
    assert application.participant.workspace == study.workspace
    assert application.participant.email == ""


def test_upsert_twice_leaves_the_same_rows(study):
    items = [applicant_record(n) for n in range(5)]
    applications_upsert_from_ui(study=study, items=items)
    before = list(Application.objects.order_by("ui_applicant_id").values())
    applications_upsert_from_ui(study=study, items=items)
    after = list(Application.objects.order_by("ui_applicant_id").values())
    assert [row["id"] for row in before] == [row["id"] for row in after]
    assert Application.objects.count() == 5 and Participant.objects.count() == 5


def test_newer_copy_wins_and_older_copy_changes_nothing(study):
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="invited",
                                                                     updated_minutes=10)])
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="applied",
                                                                     updated_minutes=5)])
    assert Application.objects.get(ui_applicant_id="app_1").status == "invited"
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="scheduled",
                                                                     updated_minutes=20)])
    assert Application.objects.get(ui_applicant_id="app_1").status == "scheduled"


def test_any_delivery_order_converges_on_the_newest_state(study):
    history = [applicant_record(1, status=status, updated_minutes=minute)
               for minute, status in enumerate(["applied", "invited", "scheduled",
                                                "completed"])]
    shuffled = history * 2
    random.Random(7).shuffle(shuffled)
    for record in shuffled:
        applications_upsert_from_ui(study=study, items=[record])
    assert Application.objects.get(ui_applicant_id="app_1").status == "completed"


def test_duplicates_inside_one_batch_keep_the_newest(study):
    applications_upsert_from_ui(study=study, items=[
        applicant_record(1, status="scheduled", updated_minutes=9),
        applicant_record(1, status="applied", updated_minutes=1),
    ])
    assert Application.objects.get(ui_applicant_id="app_1").status == "scheduled"


def test_paid_application_stays_paid_when_ui_repeats_the_completion(study):
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="completed")])
    Application.objects.filter(ui_applicant_id="app_1").update(status="paid")
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="completed",
                                                                     updated_minutes=3)])
    assert Application.objects.get(ui_applicant_id="app_1").status == "paid"


def test_participant_name_follows_ui_and_is_shared_across_studies(workspace):
    first, second = StudyFactory(workspace=workspace), StudyFactory(workspace=workspace)
    applications_upsert_from_ui(study=first, items=[applicant_record(1)])
    applications_upsert_from_ui(study=second, items=[
        applicant_record(1, ui_applicant_id="app_other", first_name="Jo")])
    assert Participant.objects.count() == 1
    assert Participant.objects.get().first_name == "Jo"
    assert Application.objects.filter(participant__ui_participant_id="par_1").count() == 2


def test_an_applicant_of_another_study_is_never_moved(study, workspace):
    other = StudyFactory(workspace=workspace)
    applications_upsert_from_ui(study=study, items=[applicant_record(1)])
    applications_upsert_from_ui(study=other, items=[applicant_record(1, status="rejected",
                                                                     updated_minutes=5)])
    application = Application.objects.get(ui_applicant_id="app_1")
    assert (application.study_id, application.status) == (study.id, "applied")


def test_items_stream_in_chunks_from_a_generator(study):
    produced = []

    def stream():
        for n in range(1203):
            produced.append(n)
            yield applicant_record(n)

    assert applications_upsert_from_ui(study=study, items=stream()) == 1203
    assert Application.objects.filter(study=study).count() == 1203


def test_ui_participants_can_never_hold_an_email(workspace):
    with pytest.raises(IntegrityError):
        ParticipantFactory(workspace=workspace, email="someone@example.com")


def test_review_transitions_are_written_once():
    application = ApplicationFactory.build(status="applied")
    assert application.can_become("invited") and application.can_become("rejected")
    assert not application.can_become("completed")
    application.status = "rejected"
    assert not application.can_become("invited")


# Invariant 11: the final state depends neither on the order nor on the number of deliveries.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.examples import examples  # noqa: E402

STATUSES = ["applied", "invited", "scheduled", "completed", "no_show", "canceled", "rejected"]


@st.composite
def histories_and_deliveries(draw):
    """Per applicant a history of snapshots (strictly newer each time), and a delivery
    sequence: every snapshot at least once, in any order, some several times."""
    histories = {}
    for n in range(draw(st.integers(1, 4))):
        length = draw(st.integers(1, 4))
        histories[n] = [applicant_record(n, status=draw(st.sampled_from(STATUSES)),
                                         updated_minutes=minute)
                        for minute in range(length)]
    snapshots = [record for history in histories.values() for record in history]
    extra = draw(st.lists(st.sampled_from(snapshots), max_size=8))
    deliveries = draw(st.permutations(snapshots + extra))
    batch = draw(st.integers(1, 5))
    return histories, deliveries, batch


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=histories_and_deliveries())
def test_any_order_and_any_repeats_end_in_the_newest_state(study, case):
    histories, deliveries, batch = case
    for start in range(0, len(deliveries), batch):
        applications_upsert_from_ui(study=study, items=deliveries[start:start + batch])
    final = {a.ui_applicant_id: a.status for a in Application.objects.filter(study=study)}
    assert final == {f"app_{n}": history[-1].status for n, history in histories.items()}
    Application.objects.filter(study=study).delete()


def test_the_same_snapshot_again_never_undoes_a_local_change(study):
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="invited")])
    Application.objects.filter(ui_applicant_id="app_1").update(status="scheduled")  # booked
    applications_upsert_from_ui(study=study, items=[applicant_record(1, status="invited")])
    assert Application.objects.get(ui_applicant_id="app_1").status == "scheduled"

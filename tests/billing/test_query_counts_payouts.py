"""The payout sweep writes a batch together: its statements do not grow with the number of
payouts it sends (perf-payouts), and charging a batch gives exactly what charging its
sessions one by one would."""
# ruff: noqa: F811 - the dispatched fixture is imported from payouts_support by name

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import payouts
from billing.models import Payout, Transfer
from billing.services import (
    reservation_charge_participant,
    reservation_charge_participants,
    reservation_release_unused,
)
from rally.models import ActivityEntry, OutboxOperation
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    charges,
    dispatched,
    due_payouts,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db


def _sweep_queries(limit):
    with CaptureQueriesContext(connection) as captured:
        sent = payouts.payouts_send_due(limit=limit)
    return len(sent), len(captured)


def test_a_sweep_takes_as_many_statements_for_60_payouts_as_for_3(
        admin, dispatched, django_capture_on_commit_callbacks):
    small, large = funded_ui_study(admin, limit=3), funded_ui_study(admin, limit=60)
    due_payouts(small, 3)
    sent, small_queries = _sweep_queries(limit=3)
    assert sent == 3
    due_payouts(large, 60)
    with django_capture_on_commit_callbacks(execute=True):
        sent, large_queries = _sweep_queries(limit=60)
    assert sent == 60
    assert large_queries == small_queries <= 25
    assert charges(large) == (60, 60, 0)
    assert Payout.objects.filter(study_id=large.pk, state="sending").count() == 60
    operations = OutboxOperation.objects.filter(study_id=large.pk, operation="create_payment")
    assert sorted(payload["payout_id"] for payload in operations.values_list("payload",
                                                                             flat=True)) \
        == sorted(str(pk) for pk in Payout.objects.filter(study_id=large.pk)
                  .values_list("pk", flat=True))
    assert ActivityEntry.objects.filter(study_id=large.pk, action="payout.sending").count() == 60
    assert ActivityEntry.objects.filter(study_id=large.pk, action="billing.fee").count() == 60
    # One message for the batch, after commit, naming each new outbox row.
    assert [name for name, _ in dispatched] == ["recruitment.outbox_execute_batch"]
    assert sorted(dispatched[0][1][0]) == sorted(str(pk) for pk in operations.values_list(
        "pk", flat=True))


def test_charging_a_batch_is_charging_one_by_one(admin):
    study = funded_ui_study(admin, limit=3)
    first = uuid.uuid4()
    fee, incentive = reservation_charge_participant(study_id=study.pk, session_id=first,
                                                    actor="task:test")
    later = [uuid.uuid4() for _ in range(4)]
    outcomes = reservation_charge_participants(study_id=study.pk,
                                               session_ids=[first, *later, first],
                                               actor="task:test")
    assert list(outcomes) == [first, *later]
    assert outcomes[first] == (fee, incentive)  # already charged: the same transfers
    assert [t.kind for t in outcomes[later[0]]] == ["fee", "incentive"]
    assert [t.kind for t in outcomes[later[1]]] == ["fee", "incentive"]
    for refused in later[2:]:  # the limit of 3 is reached: the rest are refused
        assert isinstance(outcomes[refused], ValidationError)
        assert outcomes[refused].code == "limit_reached"
    assert charges(study) == (3, 3, 0)
    with pytest.raises(ValidationError) as refused:
        reservation_charge_participant(study_id=study.pk, session_id=later[2],
                                       actor="task:test")
    assert refused.value.code == "limit_reached"


def test_a_closed_reservation_refuses_every_session_of_a_batch(admin):
    study = funded_ui_study(admin, limit=3)
    reservation_release_unused(study_id=study.pk, actor="task:test")
    sessions = [uuid.uuid4(), uuid.uuid4()]
    outcomes = reservation_charge_participants(study_id=study.pk, session_ids=sessions,
                                               actor="task:test")
    assert {outcome.code for outcome in outcomes.values()} == {"closed"}
    assert not Transfer.objects.filter(study_id=study.pk, kind="fee").exists()

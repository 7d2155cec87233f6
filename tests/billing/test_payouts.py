"""Incentive payouts (SPEC I1–I3, B4): scheduled on completion, swept 24 h after the end,
charged once, confirmed once; no-shows cost nothing."""
# ruff: noqa: F811 - the dispatched fixture is imported from payouts_support by name

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from billing import payouts
from billing.models import Payout
from billing.services import study_figures
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from scheduling.services import session_complete_and_pay, session_mark
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    charges,
    dispatched,
    due_payouts,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin):
    return funded_ui_study(admin, limit=3)


def complete(membership, session):
    return session_mark(membership=membership, session_id=session.pk, status="completed")


def test_completing_a_session_schedules_one_payout_due_a_day_after_its_end(study, admin):
    session = ended_session(study, ended=timedelta(hours=2))
    complete(admin, session)
    complete(admin, session)
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == "not_sent" and payout.trigger == "auto_24h"
    assert payout.due_at == session.ends_at + timedelta(hours=24)
    assert payout.amount == study.incentive_amount
    assert payout.participant_label == session.application.participant.display_name
    assert charges(study) == (0, 0, 0)  # charged when it is sent, not before
    assert ActivityEntry.objects.filter(action="payout.scheduled", study_id=study.pk).count() == 1


def test_no_automatic_payout_before_the_end_plus_24_hours(study, admin, dispatched,
                                                         django_capture_on_commit_callbacks):
    session = ended_session(study, ended=timedelta(minutes=5))
    complete(admin, session)
    clock.advance(hours=23, seconds=54 * 60)  # 23 h 59 min after the end
    assert payouts.payouts_sweep() == 0
    assert Payout.objects.get(session_id=session.pk).state == "not_sent"
    clock.advance(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert payouts.payouts_sweep() == 1
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == "sending" and payout.trigger == "auto_24h"
    assert charges(study) == (1, 1, 0)
    operation = OutboxOperation.objects.get(operation="create_payment")
    assert operation.payload["payout_id"] == str(payout.pk)
    assert dispatched == [("recruitment.outbox_execute", [str(operation.pk)])]
    assert payouts.payouts_sweep() == 0  # swept again: nothing new
    assert charges(study) == (1, 1, 0)


def test_no_show_costs_nothing(study, admin):
    session = ended_session(study)
    session_mark(membership=admin, session_id=session.pk, status="no_show")
    clock.advance(hours=48)
    assert payouts.payouts_sweep() == 0
    assert not Payout.objects.exists()
    assert charges(study) == (0, 0, 0)
    assert study_figures(study.pk)["total_spent"] == 0


def test_a_payout_canceled_before_it_is_due_is_never_sent(study, admin):
    session = ended_session(study)
    complete(admin, session)
    payouts.payout_cancel(session_id=session.pk, reason="Rejected after the session",
                          actor=admin.user)
    clock.advance(hours=25)
    assert payouts.payouts_sweep() == 0
    assert Payout.objects.get(session_id=session.pk).state == "canceled"
    assert charges(study) == (0, 0, 0)


def test_complete_and_send_payment_sends_now_and_once(study, admin, dispatched):
    session = ended_session(study)
    session_complete_and_pay(membership=admin, session_id=session.pk)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    session.refresh_from_db()
    assert session.status == "completed"
    assert payout.state == "sending" and payout.trigger == "manual"
    assert charges(study) == (1, 1, 0)
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1
    clock.advance(hours=25)
    assert payouts.payouts_sweep() == 0
    assert charges(study) == (1, 1, 0)


def test_complete_and_send_payment_needs_review_permission_on_the_team(study, researcher,
                                                                       observer):
    session = ended_session(study)
    with pytest.raises(PermissionDenied):
        session_complete_and_pay(membership=observer, session_id=session.pk)
    with pytest.raises(PermissionDenied):  # a researcher who is not on the study's team
        session_complete_and_pay(membership=researcher, session_id=session.pk)
    study.team.add(researcher.user)
    session_complete_and_pay(membership=researcher, session_id=session.pk)
    assert Payout.objects.get(session_id=session.pk).state == "sending"


def test_a_no_show_is_not_paid_by_hand(study, admin):
    from scheduling.services import BookingRefused

    session = ended_session(study)
    session_mark(membership=admin, session_id=session.pk, status="no_show")
    with pytest.raises(BookingRefused):
        session_complete_and_pay(membership=admin, session_id=session.pk)
    assert not Payout.objects.exists() and charges(study) == (0, 0, 0)


def test_confirmation_moves_the_incentive_to_paid_once(study, admin):
    session = ended_session(study)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    for _ in range(3):  # the create answer, the webhook and the poll all say paid
        payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_1",
                                   ui_status="paid", actor="webhook:evt_1")
    payout.refresh_from_db()
    assert payout.state == "paid" and payout.ui_payment_id == "pay_1"
    assert payout.confirmed_at is not None
    assert charges(study) == (1, 1, 1)
    figures = study_figures(study.pk)
    assert figures["incentives_paid"] == study.incentive_amount
    assert ActivityEntry.objects.filter(action="payout.paid").count() == 1


def test_a_refusal_fails_visibly_and_retry_sends_a_new_request_for_the_same_payout(study,
                                                                                  admin):
    session = ended_session(study)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    first = OutboxOperation.objects.get(operation="create_payment")
    OutboxOperation.objects.filter(pk=first.pk).update(status="failed")
    payouts.payout_record_failed(payout_id=payout.pk, reason="User Interviews answered 409",
                                 actor="task:outbox")
    payout.refresh_from_db()
    assert payout.state == "failed" and "409" in payout.failure_reason
    payouts.payout_retry(membership=admin, payout_id=payout.pk)
    payouts.payout_retry(membership=admin, payout_id=payout.pk)  # twice: one new request
    payout.refresh_from_db()
    assert payout.state == "sending" and payout.failure_reason == ""
    rows = list(payouts.payment_operations(payout.pk))
    assert len(rows) == 2 and rows[0].pk == first.pk
    assert rows[1].idempotency_key != first.idempotency_key
    assert rows[1].payload["payout_id"] == str(payout.pk) and rows[1].status == "pending"
    # The failure gave the incentive back to the hold (B9); Retry charged it once again.
    assert charges(study) == (1, 2, 0)
    assert study_figures(study.pk)["incentives"] == study.incentive_amount


def test_retry_is_refused_to_people_who_do_not_review(study, admin, observer):
    session = ended_session(study)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    with pytest.raises(PermissionDenied):
        payouts.payout_retry(membership=observer, payout_id=payout.pk)


def test_a_payout_beyond_the_participation_limit_fails_without_charging(admin):
    study = funded_ui_study(admin, limit=1)
    due_payouts(study, 2)
    assert payouts.payouts_sweep() == 2
    states = sorted(Payout.objects.values_list("state", flat=True))
    assert states == ["failed", "sending"]
    assert "already charged" in Payout.objects.get(state="failed").failure_reason
    assert charges(study) == (1, 1, 0)


def test_rally_panel_sessions_get_a_payout_the_team_pays_never_sent_to_ui(admin):
    study = funded_ui_study(admin, source="rally_panel")
    session = ended_session(study)
    complete(admin, session)
    payout = Payout.objects.get()
    assert payout.session_id == session.pk and payout.paid_by_team
    assert payout.state == Payout.State.NOT_SENT
    assert not OutboxOperation.objects.filter(operation="create_payment").exists()


@pytest.mark.parametrize(("state", "allowed"), [
    # Paid straight from Not sent: only a payout the team pays itself ("Mark as paid").
    ("not_sent", {"sending", "canceled", "paid"}),
    ("sending", {"sent", "paid", "failed"}),
    ("sent", {"paid", "failed"}),
    ("paid", set()),
    ("failed", {"sending"}),
    ("canceled", {"not_sent"}),
])
def test_payout_transitions_are_written_once(state, allowed):
    payout = Payout(state=state)
    assert {s for s in Payout.State if payout.can_become(s)} == allowed


def test_closing_the_study_sends_incentives_still_due_before_releasing(study, admin):
    from billing.models import Receipt
    from recruitment.workflows import study_status_change
    from scheduling.models import Session

    paid_later = ended_session(study)
    unmarked = ended_session(study, ended=timedelta(hours=3))
    no_show = ended_session(study, ended=timedelta(hours=5))
    not_over = ended_session(study, ended=-timedelta(hours=2))
    complete(admin, paid_later)
    session_mark(membership=admin, session_id=no_show.pk, status="no_show")
    study_status_change(membership=admin, study=study, to="closed")
    # An ended session nobody marked counts as completed: paid at close, not released (B5).
    assert {p.session_id: p.state for p in Payout.objects.all()} == {
        paid_later.pk: "sending", unmarked.pk: "sending"}
    unmarked.refresh_from_db()
    assert (unmarked.status, unmarked.completed_automatically) == ("completed", True)
    assert charges(study) == (2, 2, 0)
    receipt = Receipt.objects.get(study_id=study.pk)
    assert receipt.participants == 2
    assert receipt.reserved == receipt.total_spent + receipt.unused
    assert Session.objects.get(pk=no_show.pk).status == "no_show"
    assert not Payout.objects.filter(session_id__in=[no_show.pk, not_over.pk]).exists()


def test_the_sweeper_is_a_beat_task_every_30_seconds():
    from django.conf import settings

    from rally.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["billing-payout-sweep"]
    assert entry == {"task": "billing.payouts_sweep", "schedule": 30.0}
    app.loader.import_default_modules()
    assert "billing.payouts_sweep" in app.tasks
    assert "recruitment.payments_poll" in app.tasks


def test_a_lost_enqueue_is_picked_up_by_the_outbox_sweeper(study, admin, dispatched):
    from recruitment.outbox import outbox_sweep

    session = ended_session(study)
    session_complete_and_pay(membership=admin, session_id=session.pk)
    assert dispatched == []  # the message after commit never left (no commit here)
    operation = OutboxOperation.objects.get(operation="create_payment")
    assert operation.pk in outbox_sweep()
    assert ("recruitment.outbox_execute", [str(operation.pk)]) in dispatched

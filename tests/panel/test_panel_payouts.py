"""Rally-panel incentives as payouts: a completed panel session gets a payout due 24 hours
after it (I2), paid by the team and never sent to User Interviews; "Mark as paid" records
the method and reference and makes it Paid, once, even when two people press it at once."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from billing import payouts
from billing.models import Payout, Transfer
from billing.services import budget_add_funds, budget_default_ensure
from panel import services as panel_services
from participants.models import Application
from rally.models import OutboxOperation
from scheduling import services as scheduling
from tests.conftest import MONDAY_MORNING
from tests.panel.factories import PanelInvitationFactory, PanelStudyFactory
from tests.scheduling.factories import SchedulingSettingsFactory

#: The session is 10:00-11:00 New York on Monday 1 June 2026 (the clock: 08:00).
TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
SESSION_END = TEN_NY + timedelta(hours=1)


def _completed_session(study, researcher, frozen_clock):
    invitation = PanelInvitationFactory(study=study, participant__first_name="Dana",
                                        participant__last_name="Wells")
    application = Application.objects.create(
        study=study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)
    link = scheduling.invitation_from_token(scheduling.booking_token_make(application))
    session = scheduling.session_book(invitation=link, starts_at=TEN_NY)
    frozen_clock.move_to(SESSION_END + timedelta(minutes=5))
    scheduling.session_mark(membership=researcher, session_id=session.pk, status="completed")
    return application, session



@pytest.mark.django_db
def test_a_completed_panel_session_gets_a_payout_due_24_hours_later_never_sent(
        panel_study, researcher, frozen_clock):
    application, session = _completed_session(panel_study, researcher, frozen_clock)
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.paid_by_team and payout.state == Payout.State.NOT_SENT
    assert (payout.amount, payout.due_at) == (Decimal("40.00"), SESSION_END + timedelta(hours=24))
    assert payout.application_id == application.pk
    frozen_clock.move_to(SESSION_END + timedelta(hours=25))
    assert payouts.payouts_sweep() == 0  # due, but the team pays it: never sent to UI
    payout.refresh_from_db()
    assert payout.state == Payout.State.NOT_SENT
    assert not OutboxOperation.objects.filter(operation="create_payment").exists()
    with pytest.raises(payouts.PayoutRefused):
        payouts.payout_send_now(session_id=session.pk, actor=researcher.user)


@pytest.mark.django_db
def test_a_panel_study_without_an_incentive_has_no_payout(workspace, researcher, frozen_clock):
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user, incentive_amount=None)
    SchedulingSettingsFactory(study=study)
    _application, session = _completed_session(study, researcher, frozen_clock)
    assert not Payout.objects.filter(session_id=session.pk).exists()


@pytest.mark.django_db
def test_mark_as_paid_records_method_and_reference_once(panel_study, researcher, funded,
                                                        frozen_clock):
    application, session = _completed_session(panel_study, researcher, frozen_clock)
    for _ in range(2):
        panel_services.panel_incentive_record(
            membership=researcher, study=panel_study, application_id=application.pk,
            amount="40.00", method="cash", reference="Envelope 12")
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == Payout.State.PAID
    assert (payout.paid_method, payout.paid_reference, payout.paid_budget_id) == (
        "cash", "Envelope 12", funded.pk)
    assert payout.confirmed_at == SESSION_END + timedelta(minutes=5)
    assert Transfer.objects.filter(key=f"panel-incentive:{application.pk}").count() == 1
    application.refresh_from_db()
    assert application.status == Application.Status.PAID


@pytest.mark.django_db
def test_the_payments_page_lists_it_with_mark_as_paid_then_how_it_was_paid(
        panel_study, researcher, admin, funded, client_for, frozen_clock):
    application, _session = _completed_session(panel_study, researcher, frozen_clock)
    client = client_for(admin)
    html = client.get(reverse("billing:payments")).content.decode()
    mark = reverse("panel:incentive_record", args=[panel_study.pk, application.pk])
    assert "Paid by the team" in html and mark in html and ">Mark as paid</a>" in html
    form = client.get(f"{mark}?next={reverse('billing:payments')}").content.decode()
    assert 'id="payout-due"' in form and "$40.00 is due" in form
    response = client.post(f"{mark}?next={reverse('billing:payments')}", {
        "amount": "40.00", "method": "gift_card", "reference": "GC-778",
        "budget": str(funded.pk), "next": reverse("billing:payments")})
    assert response.status_code == 302 and response["Location"] == reverse("billing:payments")
    html = client.get(reverse("billing:payments")).content.decode()
    assert "Gift card · <code>GC-778</code>" in html and ">Mark as paid</a>" not in html


@pytest.mark.django_db(transaction=True)
def test_two_people_marking_it_paid_at_once_pay_once(workspace, researcher, admin):
    with time_machine.travel(MONDAY_MORNING, tick=False) as frozen_clock:
        study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                                  incentive_amount=Decimal("40.00"))
        SchedulingSettingsFactory(study=study)
        budget = budget_default_ensure(workspace=workspace)
        budget_add_funds(membership=admin, budget=budget, amount=Decimal("500.00"),
                         reference="PO-21", key=uuid.uuid4())
        application, session = _completed_session(study, researcher, frozen_clock)
        barrier = threading.Barrier(2)
        created, crashed = [], []

        def mark(membership, reference):
            try:
                barrier.wait()
                _transfer, was_created = panel_services.panel_incentive_record(
                    membership=membership, study=study, application_id=application.pk,
                    amount="40.00", method="bank_transfer", reference=reference)
                created.append(was_created)
            except Exception as error:  # a crash must fail the test, not hang it
                crashed.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=mark, args=(member, ref)) for member, ref in
                   ((researcher, "TX-1"), (admin, "TX-2"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not crashed, crashed
    assert sorted(created) == [False, True]
    assert Transfer.objects.filter(key=f"panel-incentive:{application.pk}").count() == 1
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == Payout.State.PAID and payout.paid_reference in ("TX-1", "TX-2")


@pytest.mark.django_db
def test_an_unmarked_panel_session_completes_with_a_payout_due_paid_by_the_team(
        panel_study, frozen_clock):
    from rally.models import ActivityEntry

    invitation = PanelInvitationFactory(study=panel_study)
    application = Application.objects.create(
        study=panel_study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)
    link = scheduling.invitation_from_token(scheduling.booking_token_make(application))
    session = scheduling.session_book(invitation=link, starts_at=TEN_NY)
    frozen_clock.move_to(SESSION_END + timedelta(minutes=1))
    assert scheduling.sessions_sweep() == 1
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.paid_by_team and payout.due_at == SESSION_END + timedelta(hours=24)
    entry = ActivityEntry.objects.get(action="session.completed_automatically")
    assert "paid by the team" in entry.summary and "sent automatically" not in entry.summary

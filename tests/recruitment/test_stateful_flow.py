"""Random sequences of the whole money path through the real services (QUALITY.md,
Stateful): invite, book, complete, Complete & Send payment, no-show, the 24-hour sweep,
UI's news of a payment (paid or failed for good, delivered twice, and late older news),
Retry, pause, resume and close (twice) — with the money invariants after every step.

"Book" is a session that has already ended (booking through the page has its own tests);
UI is not called (the outbox rows stay pending): what UI says is delivered to the payout
services as its webhooks and polls are.
"""
# ruff: noqa: F811 - the dispatched fixture is imported from payouts_support by name

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from billing import payouts
from billing.models import ZERO, Payout, Receipt, Reservation, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from billing.services import budget_default_ensure, study_figures
from participants.models import Application
from participants.services import applicant_invite
from rally import clock
from recruitment.workflows import study_status_change
from scheduling.models import Session
from scheduling.services import BookingRefused, session_complete_and_pay, session_mark
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)
from tests.participants.factories import ApplicationFactory
from tests.rally.factories import MembershipFactory, WorkspaceFactory

INCENTIVE, FEE, LIMIT = Decimal("100.00"), Decimal("65.00"), 3
SENT = (Payout.State.SENDING, Payout.State.SENT)


class StudyFlowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        clock.reset()
        self.admin = MembershipFactory(workspace=WorkspaceFactory(), role="admin")
        self.study = funded_ui_study(self.admin, limit=LIMIT)
        self.budget = budget_default_ensure(workspace=self.admin.workspace)
        self.added = LIMIT * (FEE + INCENTIVE)
        for _ in range(LIMIT + 2):
            ApplicationFactory(study=self.study, status="applied")
        self.closed = False
        self.events = self.steps = 0

    # Helpers -------------------------------------------------------------------------------

    def _applications(self, status):
        return sorted(Application.objects.filter(study=self.study, status=status)
                      .values_list("pk", flat=True), key=str)

    def _sessions(self, **filters):
        return sorted(Session.objects.filter(study=self.study, **filters)
                      .values_list("pk", flat=True), key=str)

    def _payouts(self, states):
        return sorted(Payout.objects.filter(study_id=self.study.pk, state__in=states)
                      .values_list("pk", flat=True), key=str)

    def _event(self):
        self.events += 1
        return f"webhook:evt_{self.events}"

    def _refresh(self):
        self.study.refresh_from_db()

    # Rules ---------------------------------------------------------------------------------

    def invite(self, data):
        application_id = data.draw(st.sampled_from(self._applications("applied")))
        try:
            applicant_invite(membership=self.admin, study=self.study,
                             application_id=application_id)
        except ValidationError:
            seats = Application.objects.filter(
                study=self.study, status__in=["invited", "scheduled", "completed"]).count()
            assert seats >= LIMIT  # refused only when every seat is taken

    def book(self, data):
        application = Application.objects.get(
            pk=data.draw(st.sampled_from(self._applications("invited"))))
        Application.objects.filter(pk=application.pk).update(status="scheduled")
        earlier = Session.objects.filter(study=self.study).count()  # one host: no overlap
        ended_session(self.study, application=application, ended=timedelta(hours=1 + 2 * earlier))

    def complete(self, data):
        session_id = data.draw(st.sampled_from(self._sessions(status="upcoming")))
        pay_now = data.draw(st.booleans())
        try:
            if pay_now:
                session_complete_and_pay(membership=self.admin, session_id=session_id)
            else:
                session_mark(membership=self.admin, session_id=session_id, status="completed")
        except (ValidationError, BookingRefused, payouts.PayoutRefused):
            assert self.closed

    def no_show(self, data):
        session_id = data.draw(st.sampled_from(
            self._sessions(status__in=["upcoming", "completed"])))
        before = Transfer.objects.count()
        try:
            session_mark(membership=self.admin, session_id=session_id, status="no_show")
        except (ValidationError, BookingRefused):
            return  # already paid (or closed): a No-show no longer stops it
        assert Transfer.objects.count() == before  # a no-show costs nothing
        payout = Payout.objects.filter(session_id=session_id).first()
        assert payout is None or payout.state in (Payout.State.NOT_SENT,
                                                   Payout.State.CANCELED)

    def a_day_passes_and_the_sweeper_runs(self, data):
        clock.advance(hours=25)
        payouts.payouts_sweep()

    def ui_reports(self, data):
        payout_id = data.draw(st.sampled_from(self._payouts(SENT)))
        outcome = data.draw(st.sampled_from(["paid", "failed"]))
        deliveries, late_pending = data.draw(st.integers(1, 2)), data.draw(st.booleans())
        ui_payment = f"pay_{str(payout_id)[:8]}"
        for _ in range(deliveries):  # a duplicate webhook, or the poll after the webhook
            payouts.payout_record_status(payout_id=payout_id, ui_payment_id=ui_payment,
                                         ui_status=outcome, reason="Refused by the provider",
                                         actor=self._event())
        if late_pending:  # older news arriving late changes nothing
            payouts.payout_record_status(payout_id=payout_id, ui_payment_id=ui_payment,
                                         ui_status="pending", actor=self._event())
        assert Payout.objects.get(pk=payout_id).state == outcome

    def retry(self, data):
        payout_id = data.draw(st.sampled_from(self._payouts([Payout.State.FAILED])))
        payouts.payout_retry(membership=self.admin, payout_id=payout_id)
        payouts.payout_retry(membership=self.admin, payout_id=payout_id)  # a double click

    def pause_and_resume(self, data):
        before = (Transfer.objects.count(), study_figures(self.study.pk))
        self._refresh()
        target = "paused" if self.study.status == "active" else "active"
        study_status_change(membership=self.admin, study=self.study, to=target)
        assert (Transfer.objects.count(), study_figures(self.study.pk)) == before

    def close(self, data):
        self._refresh()
        before = Transfer.objects.count()
        if self.closed:
            with pytest.raises(ValidationError):
                study_status_change(membership=self.admin, study=self.study, to="closed")
            assert Transfer.objects.count() == before  # closing twice writes nothing
            return
        study_status_change(membership=self.admin, study=self.study, to="closed")
        self.closed = True
        receipt = Receipt.objects.get(study_id=self.study.pk)
        assert receipt.reserved == receipt.total_spent + receipt.unused
        assert study_figures(self.study.pk)["hold"] == ZERO
        assert not Payout.objects.filter(study_id=self.study.pk,
                                         state=Payout.State.NOT_SENT).exists()

    #: (action, when it can run). One rule draws among them, so every example mixes them
    #: (rules of their own are switched off at random per example, and few examples then
    #: rarely get past the first steps of the path).
    ACTIONS = {
        "invite": lambda self: self._applications("applied") and not self.closed,
        "book": lambda self: self._applications("invited") and not self.closed,
        "complete": lambda self: self._sessions(status="upcoming"),
        "no_show": lambda self: self._sessions(status__in=["upcoming", "completed"]),
        "a_day_passes_and_the_sweeper_runs": lambda self: True,
        "ui_reports": lambda self: self._payouts(SENT),
        "retry": lambda self: self._payouts([Payout.State.FAILED]),
        "pause_and_resume": lambda self: not self.closed,
        "close": lambda self: True,
    }

    #: How often each is offered: the path forward more than its detours, and closing
    #: (final) only after some steps, so examples reach payouts before they close.
    WEIGHTS = {"invite": 3, "book": 3, "complete": 3, "ui_reports": 3,
               "a_day_passes_and_the_sweeper_runs": 2}

    @rule(data=st.data())
    def step(self, data):
        self.steps += 1
        possible = [name for name, ready in self.ACTIONS.items() if ready(self)
                    and (name != "close" or self.steps > 10)
                    for _ in range(self.WEIGHTS.get(name, 1))]
        action = data.draw(st.sampled_from(possible), label="action")
        getattr(self, action)(data)

    # Invariants ----------------------------------------------------------------------------

    @invariant()
    def the_ledger_reconciles(self):
        assert ledger_problems(workspace=self.admin.workspace) == []

    @invariant()
    def each_session_is_charged_and_paid_at_most_once(self):
        open_reservation = Reservation.objects.filter(study_id=self.study.pk,
                                                      released_at__isnull=True).exists()
        for payout in Payout.objects.filter(study_id=self.study.pk):
            keys = Transfer.objects.filter(study_id=self.study.pk).filter(
                Q(key=f"fee:{payout.session_id}") | Q(key__startswith=f"incentive:"
                                                                       f"{payout.session_id}")
                | Q(key__startswith=f"unpaid:{payout.pk}:") | Q(key=f"paid:{payout.pk}"))
            kinds = dict(keys.values_list("kind").annotate(n=Count("id")).order_by())
            net = kinds.get("incentive", 0) - kinds.get("unpaid", 0)
            assert kinds.get("fee", 0) <= 1 and kinds.get("paid", 0) <= 1 and net in (0, 1)
            assert (kinds.get("paid", 0) == 1) == (payout.state == Payout.State.PAID)
            if payout.state in (*SENT, Payout.State.PAID):
                assert net == 1  # delivered or on its way: counted as spent
            if payout.state == Payout.State.FAILED and open_reservation:
                assert net == 0  # failed for good: given back to the hold (B9)
            if payout.state in (Payout.State.NOT_SENT, Payout.State.CANCELED):
                assert not kinds

    @invariant()
    def spent_counts_only_delivered_or_in_flight_incentives(self):
        figures = study_figures(self.study.pk)
        counted = Payout.objects.filter(
            study_id=self.study.pk, state__in=[*SENT, Payout.State.PAID]).count()
        if not self.closed:  # after close a late failure stays charged (the receipt is final)
            assert figures["incentives"] == counted * INCENTIVE
        assert figures["participants"] <= LIMIT
        assert figures["total_spent"] == figures["recruitment_fees"] + figures["incentives"]
        budget = budget_figures_for([self.budget])[self.budget.pk]
        assert budget.available >= 0 and figures["hold"] >= 0
        assert self.added == budget.available + budget.reserved + budget.spent
        paid = Transfer.objects.filter(study_id=self.study.pk, kind="paid").aggregate(
            total=Sum("amount"))["total"] or ZERO
        assert paid == Payout.objects.filter(study_id=self.study.pk,
                                             state=Payout.State.PAID).count() * INCENTIVE

    def teardown(self):
        if os.environ.get("RALLY_STATEFUL_TRACE"):  # to see what the examples reached
            print(sorted(Payout.objects.filter(study_id=self.study.pk)
                         .values_list("state", flat=True)), self.closed)
        clock.reset()


@pytest.mark.django_db
def test_the_money_path_keeps_its_invariants_after_every_step(dispatched):
    run_state_machine_as_test(StudyFlowMachine, settings=settings(
        max_examples=6, stateful_step_count=22, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))

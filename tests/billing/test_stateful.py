"""Random sequences of add funds, start (reserve), shrink, charge, pay, decline (the start's
funds return), start again, close and close again, with the money invariants checked
against a plain model after every step."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing import services
from billing.models import ZERO, Receipt, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for, study_figures
from rally.models import ActivityEntry
from tests.billing.factories import BudgetFactory, funds_add
from tests.rally.factories import MembershipFactory, WorkspaceFactory

CENTS = Decimal("0.01")
amounts = st.integers(min_value=1, max_value=300_000).map(lambda c: Decimal(c) * CENTS)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.workspace = WorkspaceFactory()
        self.admin = MembershipFactory(workspace=self.workspace, role="admin")
        self.budget = BudgetFactory(workspace=self.workspace, name="Workspace Budget")
        self.added = ZERO
        self.available = ZERO
        # study id -> dict(limit, per, fee, incentive, charged: [sessions], paid, attempt,
        # released (its latest start's funds returned), closed (receipt issued))
        self.studies = {}
        self.receipts = {}

    # Rules ---------------------------------------------------------------------------------

    @rule(amount=amounts)
    def add_funds(self, amount):
        funds_add(self.admin, self.budget, amount)
        self.added += amount
        self.available += amount

    @rule(limit=st.integers(1, 6), fee=st.sampled_from(["26.00", "39.00", "43.00", "65.00"]),
          incentive=st.integers(1, 30000).map(lambda c: Decimal(c) * CENTS))
    def start(self, limit, fee, incentive):
        study_id = uuid.uuid4()
        required = limit * (Decimal(fee) + incentive)
        try:
            services.budget_reserve_for_study(
                budget=self.budget, study_id=study_id, study_name="Study", fee=Decimal(fee),
                participation_limit=limit, incentive=incentive, actor=self.admin.user)
        except services.FundsShortError as error:
            assert required > self.available
            assert error.shortfall == required - self.available
            return
        assert required <= self.available
        # Starting twice is starting once.
        services.budget_reserve_for_study(
            budget=self.budget, study_id=study_id, study_name="Study", fee=Decimal(fee),
            participation_limit=limit, incentive=incentive, actor=self.admin.user)
        self.available -= required
        self.studies[study_id] = {"limit": limit, "per": Decimal(fee) + incentive,
                                  "fee": Decimal(fee), "incentive": incentive,
                                  "charged": [], "paid": set(), "attempt": 1,
                                  "released": False, "closed": False}

    def _open(self):
        return [s for s, v in self.studies.items() if not v["released"]]

    def _declined(self):
        return [s for s, v in self.studies.items() if v["released"] and not v["closed"]]

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def decline(self, data):
        """UI declines the start (or the hand-off fails): what is held goes back."""
        study_id = data.draw(st.sampled_from(sorted(self._open(), key=str)))
        study = self.studies[study_id]
        for _ in range(2):  # the webhook and the poller may both report it
            services.reservation_release_unused(study_id=study_id, actor="task:poller")
        self.available += study["limit"] * study["per"] - len(study["charged"]) * study["per"]
        study["released"] = True

    @precondition(lambda self: self._declined())
    @rule(data=st.data(), limit=st.integers(1, 6),
          fee=st.sampled_from(["26.00", "39.00", "43.00", "65.00"]),
          incentive=st.integers(1, 30000).map(lambda c: Decimal(c) * CENTS))
    def start_again(self, data, limit, fee, incentive):
        study_id = data.draw(st.sampled_from(sorted(self._declined(), key=str)))
        study = self.studies[study_id]
        attempt = study["attempt"] + 1
        required = limit * (Decimal(fee) + incentive)
        before = Transfer.objects.count()
        try:
            for _ in range(2):  # a retried start of the same attempt reserves once
                services.budget_reserve_for_study(
                    budget=self.budget, study_id=study_id, study_name="Study",
                    fee=Decimal(fee), participation_limit=limit, incentive=incentive,
                    actor=self.admin.user, attempt=attempt)
        except services.FundsShortError as error:
            assert not study["charged"] and required > self.available
            assert error.shortfall == required - self.available
            assert Transfer.objects.count() == before
            return
        except ValidationError as refusal:
            assert refusal.code == "charged" and study["charged"]
            assert Transfer.objects.count() == before
            return
        assert not study["charged"] and required <= self.available
        assert Transfer.objects.count() == before + 1
        self.available -= required
        study.update(limit=limit, per=Decimal(fee) + incentive, fee=Decimal(fee),
                     incentive=incentive, attempt=attempt, released=False)

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def shrink(self, data):
        study_id = data.draw(st.sampled_from(self._open()))
        study = self.studies[study_id]
        new = data.draw(st.integers(0, study["limit"]))
        try:
            services.reservation_shrink(study_id=study_id, participation_limit=new,
                                        actor="task:test")
        except ValidationError:
            assert new < max(1, len(study["charged"]))
            return
        assert new >= max(1, len(study["charged"]))
        self.available += (study["limit"] - new) * study["per"]
        study["limit"] = new

    @precondition(lambda self: self.studies)
    @rule(data=st.data(), again=st.booleans())
    def charge(self, data, again):
        study_id = data.draw(st.sampled_from(sorted(self.studies, key=str)))
        study = self.studies[study_id]
        if again and study["charged"]:
            session = data.draw(st.sampled_from(study["charged"]))
            services.reservation_charge_participant(study_id=study_id, session_id=session,
                                                    actor="webhook:evt")
            return  # a repeat changes nothing (checked by the invariants)
        session = uuid.uuid4()
        try:
            services.reservation_charge_participant(study_id=study_id, session_id=session,
                                                    actor=self.admin.user)
        except ValidationError:
            assert study["released"] or len(study["charged"]) >= study["limit"]
            return
        assert not study["released"] and len(study["charged"]) < study["limit"]
        study["charged"].append(session)

    @precondition(lambda self: any(v["charged"] for v in self.studies.values()))
    @rule(data=st.data())
    def pay(self, data):
        study_id = data.draw(st.sampled_from(
            sorted((s for s, v in self.studies.items() if v["charged"]), key=str)))
        study = self.studies[study_id]
        session = data.draw(st.sampled_from(study["charged"]))
        payout = uuid.uuid5(uuid.NAMESPACE_OID, str(session))  # one payout per session
        services.incentive_mark_paid(study_id=study_id, session_id=session, payout_id=payout,
                                     actor="task:payout_sweeper")
        study["paid"].add(session)

    @precondition(lambda self: self.studies)
    @rule(data=st.data())
    def close(self, data):
        study_id = data.draw(st.sampled_from(sorted(self.studies, key=str)))
        study = self.studies[study_id]
        before = Transfer.objects.count()
        receipt = services.reservation_close(study_id=study_id, actor=self.admin.user)
        spent = len(study["charged"]) * study["per"]
        if study["closed"]:
            assert receipt.pk == self.receipts[study_id]
            assert Transfer.objects.count() == before
        else:
            if study["released"]:  # declined, then closed: nothing is left to return
                assert Transfer.objects.count() == before
            else:
                self.available += study["limit"] * study["per"] - spent
            study["released"] = study["closed"] = True
            self.receipts[study_id] = receipt.pk
        # The receipt is the last start's: its own reservation, nothing of earlier ones.
        assert receipt.total_spent == spent
        assert receipt.reserved == study["limit"] * study["per"]
        assert receipt.reserved == receipt.total_spent + receipt.unused

    # Invariants ----------------------------------------------------------------------------

    @invariant()
    def ledger_reconciles(self):
        assert ledger_problems(workspace=self.workspace) == []

    @invariant()
    def figures_match_the_model(self):
        figures = budget_figures_for([self.budget])[self.budget.pk]
        assert figures.available == self.available >= 0
        held = ZERO
        for study_id, study in self.studies.items():
            got = study_figures(study_id)
            assert got["participants"] == len(study["charged"]) <= study["limit"]
            assert got["hold"] >= 0
            assert got["reserved"] == got["total_spent"] + got["hold"] + got["unused"]
            assert got["incentives_paid"] == len(study["paid"]) * study["incentive"]
            assert got["reserved"] == study["limit"] * study["per"]
            if study["released"]:
                assert got["hold"] == ZERO
            held += got["hold"]
        spent = sum((len(s["charged"]) * s["per"] for s in self.studies.values()), ZERO)
        assert figures.reserved == held
        assert figures.spent == spent
        assert self.added == figures.available + figures.reserved + figures.spent

    @invariant()
    def every_movement_has_an_activity_entry_with_its_actor(self):
        transfers = Transfer.objects.filter(workspace=self.workspace)
        entries = ActivityEntry.objects.filter(workspace=self.workspace,
                                               action__startswith="billing.")
        transfer_ids = {str(t) for t in transfers.values_list("id", flat=True)}
        logged = {e.data.get("transfer") for e in entries if e.actor_label}
        assert transfer_ids <= logged
        assert Receipt.objects.filter(workspace=self.workspace).count() == len(self.receipts)


@pytest.mark.django_db
def test_money_invariants_hold_after_every_step():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=12, stateful_step_count=14, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))

import uuid
from decimal import Decimal

import pytest

from tests.billing.factories import BudgetFactory, funds_add


@pytest.fixture
def b1_prices(db):
    """The B1 prices. The migration seeds them, but transactional tests earlier in the run
    flush the database, so tests that read prices put them back first."""
    from billing.pricing import prices_seed_defaults

    prices_seed_defaults()


@pytest.fixture
def budget(workspace):
    return BudgetFactory(workspace=workspace, name="Workspace Budget")


@pytest.fixture
def funded_budget(budget, admin):
    funds_add(admin, budget, "1000.00", "PO-1000")
    return budget


@pytest.fixture
def reserve(admin):
    """reserve(budget, limit=4, fee="65.00", incentive="100.00") → (reservation, study id)."""
    from billing.services import budget_reserve_for_study

    def make(budget, limit=4, fee="65.00", incentive="100.00", study_id=None, name="Churn"):
        study_id = study_id or uuid.uuid4()
        reservation = budget_reserve_for_study(
            budget=budget, study_id=study_id, study_name=name, participation_limit=limit,
            fee=Decimal(fee), incentive=Decimal(incentive), actor=admin.user)
        return reservation, study_id

    return make

import uuid
from decimal import Decimal

import pytest

from tests.billing.factories import BudgetFactory, funds_add


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

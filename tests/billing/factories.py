import uuid
from decimal import Decimal

import factory

from billing.models import Budget
from rally import clock
from tests.rally.factories import WorkspaceFactory


class BudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Budget

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Budget {n}")
    created_at = factory.LazyFunction(clock.now)


def funds_add(membership, budget, amount, reference="PO-1"):
    """Add funds as `membership` with a fresh idempotency key."""
    from billing.services import budget_add_funds

    return budget_add_funds(membership=membership, budget=budget, amount=Decimal(amount),
                            reference=reference, key=uuid.uuid4())

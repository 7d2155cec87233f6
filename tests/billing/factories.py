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


def receipt_emails_deliver():
    """Do what a worker does with the receipt emails a close queued (the tests run no
    worker); returns how many were sent."""
    from billing.models import ReceiptEmail
    from billing.receipts import receipt_email_send

    return sum(receipt_email_send(receipt_email_id=pk) for pk in
               ReceiptEmail.objects.filter(sent_at=None).values_list("pk", flat=True))

import uuid
from decimal import Decimal

import factory

from billing.models import Budget, Payout
from rally import clock
from tests.rally.factories import WorkspaceFactory


class BudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Budget

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Budget {n:05d}")  # fixed-width: none contains another
    created_at = factory.LazyFunction(clock.now)


class PayoutFactory(factory.django.DjangoModelFactory):
    """A payout row on its own (billing refers to the study and session by id only): due now,
    not sent."""

    class Meta:
        model = Payout

    workspace = factory.SubFactory(WorkspaceFactory)
    study_id = factory.LazyFunction(uuid.uuid4)
    study_name = "Study"
    session_id = factory.LazyFunction(uuid.uuid4)
    application_id = factory.LazyFunction(uuid.uuid4)
    participant_label = "Jordan P."
    amount = Decimal("50.00")
    due_at = factory.LazyFunction(lambda: clock.now())
    created_at = factory.LazyFunction(lambda: clock.now())
    updated_at = factory.LazyFunction(lambda: clock.now())


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

"""Demo money: "Workspace Budget" (SPEC B3) and "Q4 Research Budget", both funded."""

import uuid

from billing.models import Budget, Transfer
from billing.services import budget_add_funds_nested, budget_default_ensure
from rally.models import Membership
from rally.permissions import Role

DEMO_KEYS = uuid.UUID("b7d7c3c4-7f55-4c1e-9a35-2f7a0e6bb0a1")
SECOND_BUDGET = "Q4 Research Budget"

FUNDS = [
    ("Workspace Budget", "5000.00", "PO-2026-0142", Role.ADMIN),
    (SECOND_BUDGET, "2500.00", "INV-88213", Role.ADMIN),
    (SECOND_BUDGET, "750.00", "Card top-up 11/2026", Role.OPS_MANAGER),
]


def seed(context):
    workspace = context.workspace
    budget_default_ensure(workspace=workspace)
    if not Budget.objects.filter(workspace=workspace, name=SECOND_BUDGET).exists():
        Budget.objects.create(workspace=workspace, name=SECOND_BUDGET,
                              created_by=context.users[Role.ADMIN],
                              created_at=Budget.objects.get(
                                  workspace=workspace, name="Workspace Budget").created_at)
    for number, (name, amount, reference, role) in enumerate(FUNDS):
        # Deterministic keys: seeding again adds nothing.
        key = uuid.uuid5(DEMO_KEYS, f"{workspace.pk}:{number}")
        if Transfer.objects.filter(key=f"funds:{key}").exists():
            continue
        membership = Membership.objects.get(workspace=workspace, user=context.users[role])
        budget_add_funds_nested(membership=membership,
                         budget=Budget.objects.get(workspace=workspace, name=name),
                         amount=amount, reference=reference, key=key)

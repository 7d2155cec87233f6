"""The demo workspace's core: "Acme Research", its four people and their roles.

`manage.py seed_demo` runs this, then each app's own `demo.seed(context)` in dependency
order, so every capability grows the demo without touching the others. Everything here is
idempotent: running the seed twice leaves the same rows.
"""

from dataclasses import dataclass, field

from rally.models import Membership, User, Workspace
from rally.permissions import Role
from rally.services import activity_record

WORKSPACE_NAME = "Acme Research"
PASSWORD = "rally-demo"  # noqa: S105 - a published demo credential, development only

PEOPLE = [
    ("admin@example.com", "Avery Admin", Role.ADMIN),
    ("ops@example.com", "Olivia Ops", Role.OPS_MANAGER),
    ("researcher@example.com", "Riley Researcher", Role.RESEARCHER),
    ("observer@example.com", "Oscar Observer", Role.OBSERVER),
]


@dataclass
class DemoContext:
    """What the core seed made, handed to each app's seed."""

    workspace: Workspace
    users: dict[Role, User] = field(default_factory=dict)


def seed():
    workspace, created = Workspace.objects.get_or_create(name=WORKSPACE_NAME)
    context = DemoContext(workspace=workspace)
    for email, name, role in PEOPLE:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=PASSWORD, name=name)
        Membership.objects.get_or_create(user=user, workspace=workspace,
                                         defaults={"role": role})
        context.users[role] = user
    if created:
        activity_record(workspace=workspace, actor=context.users[Role.ADMIN],
                        action="workspace.created", summary=f"Created workspace {workspace.name}")
    return context

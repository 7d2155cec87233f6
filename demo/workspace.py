"""The demo workspace itself: "Acme Research", its four people, their roles and the
participant properties. `manage.py seed_demo` runs this first and hands the context it
returns to the other seeds. Idempotent: running the seed twice leaves the same rows.
"""

from dataclasses import dataclass, field

from rally.models import Membership, User, Workspace
from rally.permissions import Role
from rally.services import activity_record, property_define

WORKSPACE_NAME = "Acme Research"
PASSWORD = "rally-demo"  # noqa: S105 - a published demo credential, development only

PEOPLE = [
    ("admin@example.com", "Avery Admin", Role.ADMIN),
    ("ops@example.com", "Olivia Ops", Role.OPS_MANAGER),
    ("researcher@example.com", "Riley Researcher", Role.RESEARCHER),
    ("observer@example.com", "Oscar Observer", Role.OBSERVER),
]

#: Participant properties screener questions map to (key, label, type, options, is_pii).
PROPERTIES = [
    ("job_title", "Job title", "text", (), False),
    ("company_size", "Company size", "single_select",
     ("1-50", "51-200", "201-1000", "1000+"), False),
    ("date_of_birth", "Date of birth", "date", (), True),
    ("uses_screen_reader", "Uses screen reader", "boolean", (), False),
    ("team_size", "Team size", "number", (), False),
    ("tools_used", "Tools used", "multi_select",
     ("Jira", "Linear", "GitHub", "Notion", "Confluence"), False),
]


def demo_applicant_id(workspace, ui_participant_id, suffix="app"):
    """The UI applicant id of a demo person's application. Applicant ids are unique across
    Rally (UI's ids are global), so they carry the workspace: the demo can fill a second
    workspace beside the first."""
    return f"{ui_participant_id}-{suffix}-{workspace.pk.hex[:8]}"


@dataclass
class DemoContext:
    """What the workspace seed made, handed to every other seed."""

    workspace: Workspace
    users: dict[Role, User] = field(default_factory=dict)


def seed(workspace_name=WORKSPACE_NAME):
    """The demo workspace (by default "Acme Research"; any name makes another one, with the
    same four people as its members)."""
    workspace, created = Workspace.objects.get_or_create(name=workspace_name)
    context = DemoContext(workspace=workspace)
    for email, name, role in PEOPLE:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=PASSWORD, name=name)
        Membership.objects.get_or_create(user=user, workspace=workspace,
                                         defaults={"role": role})
        context.users[role] = user
    for key, label, kind, options, is_pii in PROPERTIES:
        property_define(workspace=workspace, key=key, label=label, type=kind, options=options,
                        is_pii=is_pii)
    if created:
        activity_record(workspace=workspace, actor=context.users[Role.ADMIN],
                        action="workspace.created", summary=f"Created workspace {workspace.name}")
    return context

"""The workspace's own people directory: ~30 customers with properties, one opted out, and
two segments. Idempotent: nothing is added once the workspace has panel people.

The people are stored as the CSV import would leave them (each value coerced by its
property's definition), in one bulk insert: the import itself is an uploaded file worked
through by a task, which the seed has no file for.
"""

from datetime import timedelta

from demo.story import activity_recorded_at
from participants import properties as props
from participants.models import Participant, Segment
from rally import clock
from rally.models import PropertyDefinition
from rally.permissions import Role
from rally.services import property_define

DIRECTORY_PEOPLE = [
    # first, last, time zone, job title, team size, plan, tools, customer since, beta
    ("Maya", "Okafor", "America/New_York", "Product manager", 1200, "Enterprise",
     ["GitHub", "Linear"], "2021-03-14", True),
    ("Liam", "Novak", "Europe/Prague", "Engineering manager", 340, "Team", ["Linear"],
     "2022-07-01", True),
    ("Sofia", "Marquez", "America/Mexico_City", "Designer", 45, "Team", ["GitHub", "Jira"],
     "2023-01-20", False),
    ("Noah", "Schmidt", "Europe/Berlin", "CTO", 18, "Free", ["Notion"], "2024-05-02", False),
    ("Aisha", "Rahman", "Asia/Kolkata", "Data analyst", 5400, "Enterprise", ["Notion"],
     "2020-11-30", True),
    ("Lucas", "Bernard", "Europe/Paris", "Developer", 210, "Team", ["Linear", "Notion"],
     "2022-02-11", False),
    ("Emma", "Johansson", "Europe/Stockholm", "Research ops lead", 800, "Enterprise",
     ["Jira", "Notion"], "2021-09-09", True),
    ("Kenji", "Watanabe", "Asia/Tokyo", "QA lead", 2600, "Enterprise", ["Linear"],
     "2019-06-17", False),
    ("Olivia", "Brown", "America/Chicago", "Support manager", 95, "Team", ["Notion"],
     "2023-08-28", True),
    ("Mateo", "Rossi", "Europe/Rome", "Founder", 6, "Free", ["GitHub", "Notion"],
     "2025-01-06", False),
    ("Chloe", "Martin", "America/Toronto", "UX researcher", 430, "Team", ["Jira"],
     "2022-10-10", True),
    ("Ethan", "Walker", "America/Los_Angeles", "Staff engineer", 15000, "Enterprise",
     ["Linear", "GitHub"], "2018-04-22", False),
    ("Zara", "Ahmed", "Europe/London", "Product designer", 60, "Team", ["GitHub"],
     "2024-02-14", True),
    ("Hugo", "Lefevre", "Europe/Brussels", "Operations lead", 150, "Team", ["Notion"],
     "2023-05-05", False),
    ("Ingrid", "Larsen", "Europe/Oslo", "Head of design", 700, "Enterprise",
     ["GitHub", "Jira"], "2021-12-01", True),
    ("Diego", "Fernandez", "America/Sao_Paulo", "Developer", 25, "Free", ["Linear"],
     "2025-06-18", False),
    ("Priya", "Nair", "Asia/Singapore", "Product manager", 3100, "Enterprise",
     ["Linear", "Notion"], "2020-08-08", True),
    ("Tom", "Fischer", "Europe/Vienna", "IT admin", 980, "Enterprise", ["Notion"],
     "2019-10-12", False),
    ("Grace", "Kim", "America/Denver", "Marketing lead", 75, "Team", ["Jira"], "2024-09-23",
     False),
    ("Omar", "Haddad", "Asia/Dubai", "CTO", 260, "Team", ["Linear", "GitHub"], "2022-12-12",
     True),
    ("Lena", "Weber", "Europe/Zurich", "Researcher", 1900, "Enterprise", ["Jira"],
     "2021-04-04", True),
    ("Sam", "Taylor", "Australia/Sydney", "Developer", 12, "Free", ["Linear"], "2025-08-30",
     False),
    ("Nina", "Petrova", "Europe/Warsaw", "Designer", 330, "Team", ["GitHub"], "2023-03-03",
     False),
    ("Yusuf", "Demir", "Europe/Istanbul", "Engineering manager", 4200, "Enterprise",
     ["Linear", "Notion"], "2020-01-15", True),
    ("Ava", "Clarke", "Europe/Dublin", "Customer success", 520, "Team", ["Notion"],
     "2022-06-06", False),
    ("Leo", "Moreau", "America/Montreal", "Product owner", 88, "Team", ["Jira", "Linear"],
     "2024-11-11", True),
    ("Mia", "Hansen", "Europe/Copenhagen", "UX writer", 40, "Free", ["GitHub"], "2025-03-19",
     False),
    ("Ravi", "Patel", "America/New_York", "Data engineer", 7300, "Enterprise",
     ["Notion", "Linear"], "2019-02-27", True),
    ("Elena", "Costa", "Europe/Lisbon", "Designer", 150, "Team", ["GitHub", "Jira"],
     "2023-07-07", False),
    ("Jonas", "Berg", "Europe/Helsinki", "Developer", 610, "Enterprise", ["Linear"],
     "2021-10-31", False),
]

#: The core seed defines job title, company size, team size, tools used, date of birth and
#: screen reader use; the panel adds these.
DIRECTORY_PROPERTIES = [
    ("plan", "Plan", "single_select", ("Free", "Team", "Enterprise"), False),
    ("customer_since", "Customer since", "date", (), False),
    ("beta_tester", "Beta tester", "boolean", (), False),
    ("phone", "Phone", "text", (), True),
]


def _company_size(size):
    return ("1-50" if size <= 50 else "51-200" if size <= 200
            else "201-1000" if size <= 1000 else "1000+")


def seed(context):
    workspace = context.workspace
    for key, label, kind, options, pii in DIRECTORY_PROPERTIES:
        property_define(workspace=workspace, key=key, label=label, type=kind,
                        options=options, is_pii=pii)
    if Participant.objects.filter(workspace=workspace, kind=Participant.Kind.PANEL).exists():
        return
    definitions = {d.key: d for d in PropertyDefinition.objects.filter(workspace=workspace)}

    def typed(raw):
        """Values as a CSV would hold them, stored by each definition's type (a value the
        workspace's definition does not take is left out)."""
        stored = {}
        for key, value in raw.items():
            if key in definitions:
                try:
                    stored[key] = props.coerce(definitions[key], value)
                except ValueError:
                    continue
        return {key: value for key, value in stored.items() if value is not None}

    now = clock.now()
    people = []
    for n, (first, last, zone, title, size, plan, tools, since, beta) in enumerate(
            DIRECTORY_PEOPLE):
        people.append(Participant(
            workspace=workspace, kind=Participant.Kind.PANEL, first_name=first,
            last_name=last, last_initial="", email=f"{first}.{last}@example.com".lower(),
            time_zone=zone, properties=typed({
                "job_title": title, "team_size": size, "company_size": _company_size(size),
                "plan": plan, "tools_used": tools, "customer_since": since,
                "beta_tester": beta, "phone": f"+1 555 01{n:02d}",
                "uses_screen_reader": n % 9 == 4,
                "date_of_birth": f"{1970 + n % 30}-{1 + n % 12:02d}-{1 + n % 28:02d}"}),
            # Mateo unsubscribed from research emails.
            opted_out_at=now - timedelta(days=12) if first == "Mateo" else None,
            created_at=now - timedelta(days=20), updated_at=now - timedelta(days=20)))
    Participant.objects.bulk_create(people)
    ops = context.users[Role.OPS_MANAGER]
    activity_recorded_at(
        now - timedelta(days=20), workspace=workspace, actor=ops,
        action="participants.panel_imported",
        summary=f"Imported {len(people)} people from customers.csv ({len(people)} new, "
                "0 updated)",
        data={"created": len(people), "updated": 0, "skipped": 0, "invalid": 0})
    for name, filters in (
            ("Enterprise customers",
             {"q": "", "rules": [{"property": "plan", "op": "in", "value": ["enterprise"]}]}),
            ("Beta testers on larger teams",
             {"q": "", "rules": [{"property": "beta_tester", "op": "is_true"},
                                 {"property": "team_size", "op": "gte", "value": 200}]})):
        Segment.objects.get_or_create(workspace=workspace, name=name, defaults={
            "filters": filters, "created_by": ops, "created_at": now - timedelta(days=19)})

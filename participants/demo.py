"""The demo workspace's applicants: the active B2B interview study gets applicants in every
review status (scheduling's demo adds the scheduled and completed ones), with screener answers
to the version they saw, matched and unmet criteria, and one returning participant.

Idempotent: nothing is added once the demo applicants exist. Applicants arrive the way UI's
would (`applications_upsert_from_ui`); the reviewers' decisions are then written directly,
as the seed tells a story that happened days ago and sends nothing to User Interviews.
"""

from datetime import timedelta

from participants.models import Application, Participant, Segment
from participants.services import ApplicantRecord, applications_upsert_from_ui
from rally import clock
from rally.demo import demo_applicant_id
from rally.models import ActivityEntry, PropertyDefinition
from rally.permissions import Role
from rally.services import property_define
from studies.models import Status, Study, StudyType
from studies.screeners.versions import screener_version_create

S = Application.Status

#: (UI id, first name, initial, status, source, hours ago, rejection reason)
APPLICANTS = [
    ("demo-review-1", "Amara", "O", S.APPLIED, "user_interviews", 3, ""),
    ("demo-review-2", "Ben", "W", S.APPLIED, "user_interviews", 7, ""),
    ("demo-review-3", "Chen", "L", S.APPLIED, "user_interviews", 20, ""),
    ("demo-review-4", "Dara", "K", S.APPLIED, "direct_link", 26, ""),
    ("demo-review-5", "Elif", "Y", S.UNQUALIFIED, "direct_link", 30, ""),
    ("demo-review-6", "Femi", "A", S.UNQUALIFIED, "direct_link", 50, ""),
    ("demo-review-7", "Gwen", "H", S.REJECTED, "user_interviews", 70,
     "Works on a two-person team; we need larger teams."),
    ("demo-review-8", "Hugo", "M", S.NO_SHOW, "user_interviews", 100, ""),
    ("demo-review-9", "Ines", "F", S.CANCELED, "user_interviews", 110, ""),
    ("demo-review-10", "Jonah", "B", S.PAID, "user_interviews", 120, ""),
]

TITLES = ["Engineering manager", "Staff engineer", "Developer advocate", "CTO",
          "Frontend developer", "QA lead", "Platform engineer", "Tech lead", "SRE",
          "Backend developer"]


def seed(context):
    _seed_people(context)
    workspace = context.workspace
    study = Study.objects.filter(workspace=workspace, is_template=False, status=Status.ACTIVE,
                                 study_type=StudyType.INTERVIEW,
                                 name="Developer onboarding interviews").first()
    if study is None or Participant.objects.filter(
            workspace=workspace, ui_participant_id__startswith="demo-review-").exists():
        return
    version = (study.screener_versions.order_by("-number").first()
               or screener_version_create(study=study, reason="start"))
    questions = version.questions if version else []
    now = clock.now()
    criteria = study.criteria or []
    records = []
    for index, (ui_id, first, initial, status, source, hours, _reason) in enumerate(APPLICANTS):
        applied = now - timedelta(hours=hours)
        unqualified = status == S.UNQUALIFIED
        records.append(ApplicantRecord(
            ui_applicant_id=demo_applicant_id(workspace, ui_id), ui_participant_id=ui_id,
            first_name=first, last_initial=initial, status=status, source=source,
            qualification="unqualified" if unqualified else "manual_review",
            applied_at=applied, ui_updated_at=applied,
            screener_version=version.number if version else None,
            screener_responses=_answers(questions, index),
            matched_criteria=criteria[:1] if unqualified else criteria,
            unmet_criteria=criteria[1:] if unqualified else []))
    applications_upsert_from_ui(study=study, items=records)
    researcher = context.users[Role.RESEARCHER]
    for ui_id, first, initial, status, _source, hours, reason in APPLICANTS:
        if status not in (S.REJECTED, S.PAID, S.NO_SHOW, S.CANCELED):
            continue
        application = Application.objects.get(ui_applicant_id=demo_applicant_id(workspace, ui_id))
        if reason:
            application.rejection_reason = reason
            application.save(update_fields=["rejection_reason"])
        ActivityEntry.objects.create(
            workspace=workspace, actor=researcher, actor_label=researcher.display_name,
            action=f"participants.applicant_{'rejected' if status == S.REJECTED else 'invited'}",
            summary=(f"Rejected {first} {initial}. for “{study.name}”: {reason}"
                     if status == S.REJECTED else
                     f"Invited {first} {initial}. for “{study.name}”"),
            study_id=study.id, created_at=now - timedelta(hours=hours - 2),
            data={"application_id": str(application.id)})
    _returning_participant(workspace, now)


def _answers(questions, index):
    """Plausible answers to each question of the version, varied by applicant."""
    answers = []
    for number, question in enumerate(questions):
        uid = question.get("uid")
        options = question.get("options") or []
        kind = question.get("type")
        if kind == "single_choice" and options:
            answers.append({"questionUid": uid, "answerUids": [options[index % 2]["uid"]]})
        elif kind == "multiple_choice" and options:
            picked = [options[(index + offset) % len(options)]["uid"] for offset in (0, 2)]
            answers.append({"questionUid": uid, "answerUids": picked})
        elif kind == "number":
            answers.append({"questionUid": uid, "number": 4 + (index * 7) % 40})
        elif kind == "scale":
            answers.append({"questionUid": uid, "number": 1 + (index + number) % 5})
        else:
            answers.append({"questionUid": uid, "text": TITLES[index % len(TITLES)]})
    return answers


def _returning_participant(workspace, now):
    """Amara also took part in the closed clinician study: her profile shows that history."""
    closed = Study.objects.filter(workspace=workspace, status=Status.CLOSED,
                                  is_template=False).first()
    person = Participant.objects.filter(workspace=workspace,
                                        ui_participant_id="demo-review-1").first()
    if closed is None or person is None:
        return
    Application.objects.get_or_create(
        study=closed, participant=person,
        defaults={"status": S.PAID,
                  "ui_applicant_id": demo_applicant_id(workspace, "demo-review-1", "earlier"),
                  "applied_at": now - timedelta(days=35), "screener_version": None,
                  "created_at": now, "updated_at": now})


# The workspace's own panel: ~30 customers with properties, one opted out, two segments. ----

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


def _seed_people(context):
    from participants import properties as props

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
    ActivityEntry.objects.create(
        workspace=workspace, actor=ops, actor_label=ops.display_name,
        action="participants.panel_imported", created_at=now - timedelta(days=20),
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

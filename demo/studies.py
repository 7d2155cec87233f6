"""The demo workspace's studies (UI.md "Demo workspace"): one per status, and a template.

Idempotent: a study is found by its name in the workspace and left alone when it exists.
Criteria use the slugs of User Interviews' catalog (the sandbox's), which the catalog sync
(`manage.py sync_criteria`) brings into Rally.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from demo.story import activity_recorded_at
from rally import clock
from rally.permissions import Role
from studies.models import (
    AudienceType,
    LocationMode,
    ScreenerQuestion,
    Source,
    Status,
    Study,
    StudyType,
    TestTask,
)

#: The studies the other seeds build on, by name (a second seed finds them the same way).
ACTIVE_STUDY = "Developer onboarding interviews"
CLOSED_STUDY = "Clinician workflow interviews"
UNMODERATED_STUDY = "Checkout usability test"

STUDIES = [
    {
        "name": ACTIVE_STUDY,
        "study_type": StudyType.INTERVIEW, "source": Source.USER_INTERVIEWS,
        "status": Status.ACTIVE, "days_ago": 6,
        "public_title": "How does your team onboard new developers?",
        "external_description": (
            "We're a software company learning how engineering teams get new developers up "
            "to speed. In a 45-minute video call we'll ask about your last few weeks of "
            "onboarding someone (or being onboarded). No preparation needed."),
        "participation_limit": 8, "incentive_amount": Decimal("100.00"),
        "audience_type": AudienceType.B2B, "duration_minutes": 45,
        "location_mode": LocationMode.STATE, "us_states": ["CA", "NY", "WA"],
        "criteria": [{"characteristic": "job_function", "values": ["engineering"]},
                     {"characteristic": "company_size", "values": ["51-200", "201-1000"]}],
    },
    {
        "name": UNMODERATED_STUDY,
        "study_type": StudyType.UNMODERATED_TEST, "source": Source.USER_INTERVIEWS,
        "status": Status.PAUSED, "days_ago": 12,
        "public_title": "Try a new checkout on your phone",
        "external_description": (
            "Try our new checkout on your phone and think aloud while you buy a (pretend) "
            "pair of shoes. About 20 minutes, on your own time."),
        "participation_limit": 15, "incentive_amount": Decimal("30.00"),
        "audience_type": AudienceType.B2C, "duration_minutes": 20,
        "countries": ["US", "CA"],
        "criteria": [{"characteristic": "devices", "values": ["smartphone"]}],
    },
    {
        "name": "Customer satisfaction survey",
        "study_type": StudyType.SURVEY, "source": Source.RALLY_PANEL,
        "status": Status.DRAFT, "days_ago": 2,
        "public_title": "Tell us how we're doing",
        "participation_limit": 200, "incentive_amount": Decimal("5.00"),
        "audience_type": AudienceType.B2C, "duration_minutes": 10,
        "consent_form": "I agree that Acme Research may use my answers for product research.",
    },
    {
        "name": CLOSED_STUDY,
        "study_type": StudyType.INTERVIEW, "source": Source.USER_INTERVIEWS,
        "status": Status.CLOSED, "days_ago": 40,
        "public_title": "How do you document patient visits?",
        "external_description": (
            "Nurses and physicians: tell us how you document patient visits. A 60-minute "
            "video interview."),
        "participation_limit": 5, "incentive_amount": Decimal("150.00"),
        "audience_type": AudienceType.B2B, "duration_minutes": 60,
        "criteria": [{"characteristic": "industry", "values": ["healthcare"]},
                     {"characteristic": "occupation", "values": ["nurse"]}],
    },
    {
        "name": "B2B discovery interview",
        "is_template": True, "study_type": StudyType.INTERVIEW,
        "source": Source.USER_INTERVIEWS, "status": Status.DRAFT, "days_ago": 30,
        "public_title": "How does your team work today?",
        "external_description": (
            "A 45-minute conversation about how your team works today. We're not selling "
            "anything; we want to learn."),
        "participation_limit": 6, "incentive_amount": Decimal("100.00"),
        "audience_type": AudienceType.B2B, "duration_minutes": 45,
        "criteria": [{"characteristic": "seniority", "values": ["manager", "director"]}],
    },
]


def seed(context):
    workspace = context.workspace
    researcher = context.users[Role.RESEARCHER]
    ops = context.users[Role.OPS_MANAGER]
    admin = context.users[Role.ADMIN]
    now = clock.now()
    for spec in STUDIES:
        spec = dict(spec)
        name, status = spec.pop("name"), spec.pop("status")
        days_ago = spec.pop("days_ago")
        if Study.objects.filter(workspace=workspace, name=name).exists():
            continue
        created = now - timedelta(days=days_ago)
        study = Study.objects.create(
            workspace=workspace, name=name, owner=researcher, status=status,
            countries=spec.pop("countries", ["US"]), created_at=created,
            updated_at=created + timedelta(days=1), **spec)
        study.team.add(ops)
        _record(study, researcher, "study.created", f"Created “{name}”", created)
        if status != Status.DRAFT:
            published = created + timedelta(days=1)
            study.published_at = published
            _record(study, researcher, "study.published", f"Published “{name}”", published)
        if status == Status.PAUSED:
            _record(study, researcher, "study.paused",
                    f"Changed the status of “{name}” from Active to Paused",
                    created + timedelta(days=4))
        if status == Status.CLOSED:
            study.closed_at = created + timedelta(days=30)
            _record(study, admin, "study.closed",
                    f"Changed the status of “{name}” from Active to Closed", study.closed_at)
        study.save()
    _seed_screener(workspace, researcher, now)
    _seed_test_tasks(workspace, researcher, now)


_DEMO_NAMESPACE = uuid.UUID("0b6f8f7e-2d55-4a8e-9f1c-5a3e2c8d7b10")


def _uid(name):
    return str(uuid.uuid5(_DEMO_NAMESPACE, name))


#: The active B2B interview's screener: a skip from "No" of the first question to the end.
SCREENER = [
    {"key": "role", "type": "single_choice", "text": "Have you onboarded a new developer "
     "(or been onboarded) in the last 6 months?",
     "options": ["Yes, I onboarded someone", "Yes, I was onboarded", "No"],
     "skip": {"No": "end"}},
    {"key": "title", "type": "short_text", "text": "What is your job title?",
     "property": "job_title"},
    {"key": "team", "type": "number", "text": "How many engineers are on your team?",
     "property": "team_size", "help": "An estimate is fine."},
    {"key": "tools", "type": "multiple_choice",
     "text": "Which tools does your team use to plan work?",
     "options": ["Jira", "Linear", "GitHub", "Notion", "Confluence"],
     "property": "tools_used", "required": False},
    {"key": "ease", "type": "scale", "max": 5,
     "text": "How smooth was the most recent onboarding?"},
]


def _seed_screener(workspace, researcher, now):
    study = Study.objects.filter(workspace=workspace,
                                 name=ACTIVE_STUDY).first()
    if study is None or study.screener_questions.exists():
        return
    for position, spec in enumerate(SCREENER):
        options = [{"uid": _uid(f"{spec['key']}:{label}"), "label": label}
                   for label in spec.get("options", [])]
        skips = {_uid(f"{spec['key']}:{label}"): target
                 for label, target in spec.get("skip", {}).items()}
        ScreenerQuestion.objects.create(
            study=study, uid=_uid(spec["key"]), position=position, type=spec["type"],
            text=spec["text"], help=spec.get("help", ""), required=spec.get("required", True),
            options=options, scale_max=spec.get("max"), skip_logic=skips,
            property_key=spec.get("property", ""))
    _record(study, researcher, "screener.question_added",
            f"Wrote the screener of “{study.name}” ({len(SCREENER)} questions)",
            now - timedelta(days=5))


#: The paused unmoderated test's tasks (SPEC T1): taken in order on Rally's task page.
TEST_TASKS = [
    ("Find a pair of running shoes in your size",
     "Start on the home page. Use search or the menus, whichever you would normally use, and "
     "say out loud what you expect to happen before each tap."),
    ("Add them to your cart and start checking out",
     "Check out as a guest. Tell us about anything that surprises you."),
    ("Choose the fastest delivery and stop before paying",
     "Do not enter real card details: stop on the payment step and tell us how confident you "
     "are about the total you would pay."),
]


def _seed_test_tasks(workspace, researcher, now):
    study = Study.objects.filter(workspace=workspace, name=UNMODERATED_STUDY,
                                 study_type=StudyType.UNMODERATED_TEST).first()
    if study is None or study.test_tasks.exists():
        return
    written = now - timedelta(days=11)
    TestTask.objects.bulk_create([
        TestTask(study=study, position=position, title=title, instructions=instructions,
                 created_at=written, updated_at=written)
        for position, (title, instructions) in enumerate(TEST_TASKS)])
    _record(study, researcher, "study.test_task_added",
            f"Wrote the {len(TEST_TASKS)} tasks of “{study.name}”", written)


def _record(study, actor, action, summary, when):
    activity_recorded_at(when, workspace=study.workspace, actor=actor, action=action,
                         summary=summary, study_id=study.id)

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from participants.models import Application, Participant
from participants.services import ApplicantRecord
from rally import clock
from studies.models import Study
from tests.rally.factories import UserFactory, WorkspaceFactory


class StudyFactory(factory.django.DjangoModelFactory):
    """An Active User Interviews interview study, ready to recruit."""

    class Meta:
        model = Study

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Onboarding interviews {n:05d}")  # none contains another
    owner = factory.SubFactory(UserFactory)
    status = "active"
    external_description = "Tell us how you set up your team's workspace."
    participation_limit = 5
    incentive_amount = Decimal("100.00")
    countries = factory.LazyFunction(lambda: ["US"])
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    workspace = factory.SubFactory(WorkspaceFactory)
    ui_participant_id = factory.Sequence(lambda n: f"par_{n}")
    first_name = "Jordan"
    last_initial = "P"
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    study = factory.SubFactory(StudyFactory)
    participant = factory.SubFactory(ParticipantFactory,
                                     workspace=factory.SelfAttribute("..study.workspace"))
    ui_applicant_id = factory.Sequence(lambda n: f"app_{n}")
    applied_at = factory.LazyFunction(clock.now)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


BASE_TIME = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def applicant_record(n, *, status="applied", updated_minutes=0, first_name=None, **extra):
    """The n-th UI applicant as a record, last updated `updated_minutes` after BASE_TIME."""
    values = {
        "ui_applicant_id": f"app_{n}",
        "ui_participant_id": f"par_{n}",
        "first_name": first_name or f"Person{n}",
        "last_initial": "Q",
        "status": status,
        "source": "user_interviews",
        "qualification": "manual_review",
        "applied_at": BASE_TIME,
        "ui_updated_at": BASE_TIME + timedelta(minutes=updated_minutes),
        "screener_version": 1,
        "screener_responses": [{"questionUid": "q1", "text": "Daily"}],
        "matched_criteria": [{"characteristic": "job-title", "values": ["designer"]}],
    }
    values.update(extra)
    return ApplicantRecord(**values)


class PanelPersonFactory(factory.django.DjangoModelFactory):
    """A person of the workspace's own panel (with an email, unlike UI participants)."""

    class Meta:
        model = Participant

    workspace = factory.SubFactory(WorkspaceFactory)
    kind = Participant.Kind.PANEL
    ui_participant_id = None
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Panelist{n:04d}")
    last_initial = ""
    email = factory.Sequence(lambda n: f"person{n}@panel.test")
    time_zone = "America/New_York"
    properties = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)

from datetime import date, timedelta

import factory

from rally import clock
from scheduling.models import DEFAULT_WEEKLY_HOURS, SchedulingSettings, Session
from tests.participants.factories import ApplicationFactory, ParticipantFactory  # noqa: F401
from tests.participants.factories import StudyFactory as ActiveStudyFactory


class SchedulingSettingsFactory(factory.django.DjangoModelFactory):
    """Weekdays 9:00-17:00 New York, 1-12 June 2026, no buffer, 2 hours notice."""

    class Meta:
        model = SchedulingSettings
        skip_postgeneration_save = True

    study = factory.SubFactory(ActiveStudyFactory)
    time_zone = "America/New_York"
    start_date = date(2026, 6, 1)
    end_date = date(2026, 6, 12)
    weekly_hours = factory.LazyFunction(lambda: dict(DEFAULT_WEEKLY_HOURS))
    updated_at = factory.LazyFunction(clock.now)

    @factory.post_generation
    def hosts(obj, create, extracted, **kwargs):
        if create:
            obj.hosts.set(extracted or [obj.study.owner])


class SessionFactory(factory.django.DjangoModelFactory):
    """An upcoming one-hour session of an application, hosted by the study's owner, starting
    in a day."""

    class Meta:
        model = Session
        skip_postgeneration_save = True

    application = factory.SubFactory(ApplicationFactory, status="scheduled")
    study = factory.SelfAttribute("application.study")
    workspace = factory.SelfAttribute("study.workspace")
    host = factory.SelfAttribute("study.owner")
    starts_at = factory.LazyFunction(lambda: clock.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda session: session.starts_at + timedelta(hours=1))
    created_at = factory.LazyFunction(lambda: clock.now())
    updated_at = factory.LazyFunction(lambda: clock.now())

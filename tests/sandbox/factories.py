import factory

from rally import clock
from sandbox.models import Applicant, Payment, Recruit, Session

AUDIENCE = {"type": "b2c", "countries": ["US"], "usStates": [], "criteria": []}


class RecruitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recruit

    # Fixed-width: no generated name contains another ("... 1" is in "... 12").
    internal_name = factory.Sequence(lambda n: f"Checkout interviews {n:05d}")
    public_title = "Talk to us about online shopping"
    public_description = "A 45-minute video call about how you shop online."
    study_type = Recruit.StudyType.INTERVIEW
    num_participants = 5
    duration_minutes = 45
    compensation_cents = 7500
    audience = factory.LazyFunction(lambda: dict(AUDIENCE))
    scheduling_url = "http://rally.test/book/abc"
    reach = 500_000
    # One seed for every recruit: the people a test draws do not depend on how many recruits
    # the tests before it (in the same worker) made.
    population_seed = 1000
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class ApplicantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Applicant

    recruit = factory.SubFactory(RecruitFactory, status=Recruit.Status.RECRUITING)
    first_name = "Ava"
    last_initial = "K"
    country = "US"
    source = Applicant.Source.PANEL
    screener_version = 1
    qualification = Applicant.Qualification.MANUAL_REVIEW
    applied_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    applicant = factory.SubFactory(ApplicantFactory, status=Applicant.Status.SCHEDULED)
    recruit = factory.SelfAttribute("applicant.recruit")
    starts_at = factory.LazyFunction(clock.now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + __import__("datetime").timedelta(
        minutes=45))
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    session = factory.SubFactory(SessionFactory, status=Session.Status.COMPLETED)
    recruit = factory.SelfAttribute("session.recruit")
    applicant = factory.SelfAttribute("session.applicant")
    external_id = factory.Sequence(lambda n: f"payout-{n}")
    amount_cents = 7500
    trigger = Payment.Trigger.MANUAL
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)

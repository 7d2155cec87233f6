"""Rows the recruitment tests need as they stand, without a round trip to User Interviews.
Times are read from `clock.now()` when a row is built, so a test that sets the clock gets
its rows at that moment."""

import factory

from rally import clock
from recruitment.models import Recruitment, UIConnection, WebhookEndpoint, WebhookEvent
from tests.participants.factories import StudyFactory
from tests.rally.factories import WorkspaceFactory


class RecruitmentFactory(factory.django.DjangoModelFactory):
    """Start Recruitment's row as the start workflow leaves it: Starting, nothing at UI yet."""

    class Meta:
        model = Recruitment

    study = factory.SubFactory(StudyFactory)
    state = Recruitment.State.STARTING
    created_at = factory.LazyFunction(lambda: clock.now())
    updated_at = factory.LazyFunction(lambda: clock.now())


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """Rally's subscription at UI (the global one unless a workspace is given)."""

    class Meta:
        model = WebhookEndpoint

    ui_subscription_id = factory.Sequence(lambda n: f"sub_{n + 1}")
    url = "http://testserver/webhooks/user-interviews/"
    secret = "whsec_factory_secret"
    created_at = factory.LazyFunction(lambda: clock.now())
    updated_at = factory.LazyFunction(lambda: clock.now())


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A webhook UI delivered, received now and not processed yet."""

    class Meta:
        model = WebhookEvent

    event_id = factory.Sequence(lambda n: f"evt_{n + 1}")
    type = "ping"
    payload = factory.LazyFunction(dict)
    received_at = factory.LazyFunction(lambda: clock.now())


class UIConnectionFactory(factory.django.DjangoModelFactory):
    """A workspace's own User Interviews account key."""

    class Meta:
        model = UIConnection

    workspace = factory.SubFactory(WorkspaceFactory)
    api_key = factory.Sequence(lambda n: f"ui-key-{n:04d}")
    created_at = factory.LazyFunction(lambda: clock.now())
    updated_at = factory.LazyFunction(lambda: clock.now())

import uuid

import factory

from rally import clock
from rally.models import Membership, OutboxOperation, User, Workspace
from rally.permissions import Role


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    # Generated names are fixed-width, so one never contains another ("Workspace 1" is in
    # "Workspace 12"): a test that reads a page back finds exactly the row it means.
    name = factory.Sequence(lambda n: f"Workspace {n:05d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    # Fixed names: a test that reads a page back must never meet a generated name by chance
    # (and fixed-width: a worker builds thousands of members, "Member 100" is in "Member 1000").
    name = factory.Sequence(lambda n: f"Member {n:05d}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.RESEARCHER


class OutboxOperationFactory(factory.django.DjangoModelFactory):
    """An intended operation at User Interviews, waiting for its first attempt."""

    class Meta:
        model = OutboxOperation

    workspace = factory.SubFactory(WorkspaceFactory)
    operation = "launch_recruit"
    idempotency_key = factory.LazyFunction(uuid.uuid4)
    next_attempt_at = factory.LazyFunction(lambda: clock.now())
    created_at = factory.LazyFunction(lambda: clock.now())

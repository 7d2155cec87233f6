import factory

from panel.models import PanelInvitation
from rally import clock
from studies.models import ScreenerQuestion
from tests.participants.factories import PanelPersonFactory, StudyFactory


class PanelStudyFactory(StudyFactory):
    """An Active Rally-panel interview study."""

    source = "rally_panel"
    name = factory.Sequence(lambda n: f"Panel interviews {n:05d}")  # none contains another


class ScreenerQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreenerQuestion

    study = factory.SubFactory(PanelStudyFactory)
    position = factory.Sequence(lambda n: n)
    type = "short_text"
    text = factory.Sequence(lambda n: f"Question {n}")
    required = True


class PanelInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PanelInvitation

    study = factory.SubFactory(PanelStudyFactory)
    workspace = factory.SelfAttribute("study.workspace")
    participant = factory.SubFactory(PanelPersonFactory,
                                     workspace=factory.SelfAttribute("..study.workspace"))
    email_subject = "You're invited"
    created_at = factory.LazyFunction(clock.now)


__all__ = ["PanelInvitationFactory", "PanelPersonFactory", "PanelStudyFactory",
           "ScreenerQuestionFactory"]

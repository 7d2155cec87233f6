import factory

from rally import clock
from studies.models import (
    Characteristic,
    CharacteristicCategory,
    CharacteristicChoice,
    CharacteristicType,
    Study,
)
from tests.rally.factories import UserFactory, WorkspaceFactory


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Study {n:05d}")  # fixed-width: none contains another
    countries = factory.LazyFunction(lambda: ["US"])
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class CharacteristicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Characteristic
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"characteristic-{n}")
    name = factory.Sequence(lambda n: f"Characteristic {n}")
    category = CharacteristicCategory.DEMOGRAPHIC
    type = CharacteristicType.MULTI_SELECT
    audience_types = factory.LazyFunction(lambda: ["b2c", "b2b"])
    synced_at = factory.LazyFunction(clock.now)


class CharacteristicChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CharacteristicChoice

    characteristic = factory.SubFactory(CharacteristicFactory)
    external_id = factory.Sequence(lambda n: f"choice-{n}")
    label = factory.Sequence(lambda n: f"Choice {n}")


#: A small catalog in the shape of UI's `characteristics` (and of characteristics_replace).
CATALOG = [
    {"slug": "job-function", "name": "Job function", "category": "professional",
     "type": "multi_select", "audience_types": ["b2b"],
     "choices": [{"id": "engineering", "label": "Engineering"},
                 {"id": "design", "label": "Design"},
                 {"id": "clinical", "label": "Clinical care"}], "range": None},
    {"slug": "industry", "name": "Industry", "category": "professional",
     "type": "multi_select", "audience_types": ["b2b"],
     "choices": [{"id": "healthcare", "label": "Healthcare"},
                 {"id": "finance", "label": "Finance"}], "range": None},
    {"slug": "assistive-technology", "name": "Assistive technology",
     "category": "accessibility", "type": "multi_select", "audience_types": ["b2c", "b2b"],
     "choices": [{"id": "screen-reader", "label": "Screen reader"},
                 {"id": "switch", "label": "Switch access"}], "range": None},
    {"slug": "age", "name": "Age", "category": "demographic", "type": "range",
     "audience_types": ["b2c", "b2b"], "choices": [], "range": {"min": 18, "max": 99}},
    {"slug": "gender", "name": "Gender", "category": "demographic", "type": "single_select",
     "audience_types": ["b2c", "b2b"],
     "choices": [{"id": "woman", "label": "Woman"}, {"id": "man", "label": "Man"},
                 {"id": "non-binary", "label": "Non-binary"}], "range": None},
    {"slug": "browsers", "name": "Browsers", "category": "technology", "type": "multi_select",
     "audience_types": ["b2c", "b2b"],
     "choices": [{"id": "firefox", "label": "Firefox"}, {"id": "chrome", "label": "Chrome"}],
     "range": None},
]

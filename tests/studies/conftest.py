import pytest

from studies import services
from studies.models import AudienceType, Source, StudyType
from tests.studies.factories import CATALOG, StudyFactory


@pytest.fixture
def catalog(db):
    services.characteristics_replace(items=CATALOG)


@pytest.fixture
def study(workspace, researcher):
    """A draft User Interviews interview owned by the researcher."""
    return StudyFactory(workspace=workspace, owner=researcher.user, name="Onboarding interviews",
                        study_type=StudyType.INTERVIEW, source=Source.USER_INTERVIEWS)


@pytest.fixture
def ready_study(study, catalog):
    """A draft that meets every publishing requirement (B2B, one professional criterion)."""
    study.external_description = "Tell us how you onboard new engineers."
    study.participation_limit = 8
    study.incentive_amount = "75.00"
    study.audience_type = AudienceType.B2B
    study.criteria = [{"characteristic": "job-function", "values": ["engineering"]}]
    study.save()
    study.refresh_from_db()
    return study

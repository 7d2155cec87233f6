import pytest

from demo import studies as demo
from demo import workspace as workspace_demo
from studies.models import Status, Study

pytestmark = pytest.mark.django_db


def test_demo_studies_cover_each_status_and_a_template_and_are_idempotent():
    context = workspace_demo.seed()
    demo.seed(context)
    demo.seed(workspace_demo.seed())
    studies = Study.objects.filter(workspace=context.workspace)
    assert studies.count() == len(demo.STUDIES)
    assert {s.status for s in studies.filter(is_template=False)} == set(Status.values)
    assert studies.filter(is_template=True).count() == 1
    active = studies.get(status=Status.ACTIVE)
    assert active.audience_type == "b2b" and active.criteria

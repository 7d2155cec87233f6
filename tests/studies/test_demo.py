import pytest

from rally import demo as rally_demo
from studies import demo
from studies.models import Status, Study

pytestmark = pytest.mark.django_db


def test_demo_studies_cover_each_status_and_a_template_and_are_idempotent():
    context = rally_demo.seed()
    demo.seed(context)
    demo.seed(rally_demo.seed())
    studies = Study.objects.filter(workspace=context.workspace)
    assert studies.count() == len(demo.STUDIES)
    assert {s.status for s in studies.filter(is_template=False)} == set(Status.values)
    assert studies.filter(is_template=True).count() == 1
    active = studies.get(status=Status.ACTIVE)
    assert active.audience_type == "b2b" and active.criteria

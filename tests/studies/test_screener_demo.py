"""The demo's active B2B interview has a screener that passes every check."""

import pytest

from demo import studies as demo
from demo import workspace as workspace_demo
from rally.models import PropertyDefinition
from studies.models import ScreenerQuestion, Study
from studies.screeners.rules import screener_problems
from studies.screeners.versions import screener_draft

pytestmark = pytest.mark.django_db


def test_demo_screener_is_valid_has_a_skip_and_seeding_twice_adds_nothing():
    context = workspace_demo.seed()
    demo.seed(context)
    demo.seed(workspace_demo.seed())
    study = Study.objects.get(workspace=context.workspace, name="Developer onboarding interviews")
    questions = screener_draft(study)
    assert 4 <= len(questions) <= 5
    assert ScreenerQuestion.objects.filter(study=study).count() == len(questions)
    assert any(q["logic"]["skip"] for q in questions)
    properties = {p.key: p for p in PropertyDefinition.objects.filter(
        workspace=context.workspace)}
    assert {"job_title", "company_size", "date_of_birth", "uses_screen_reader"} <= set(properties)
    assert screener_problems(questions, properties=properties) == []

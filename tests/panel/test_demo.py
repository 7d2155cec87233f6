"""The demo seed: a Rally-panel interview study with invitations, applications and a booking,
once however often it runs."""

import pytest

from panel import demo as panel_demo
from panel.models import PanelInvitation
from participants import demo as participants_demo
from rally import demo
from rally.models import PropertyDefinition
from scheduling.models import Session
from studies import screeners
from studies.models import Study

pytestmark = pytest.mark.django_db


def test_demo_seed_runs_a_panel_study_once():
    for _ in range(2):
        context = demo.seed()
        participants_demo.seed(context)
        panel_demo.seed(context)
    study = Study.objects.get(name=panel_demo.STUDY_NAME)
    assert study.source == "rally_panel" and study.status == "active"
    assert PanelInvitation.objects.filter(study=study).count() == 5
    statuses = sorted(study.applications.values_list("status", flat=True))
    assert statuses == ["applied", "scheduled"]
    assert Session.objects.filter(study=study, status="upcoming").count() == 1
    # The demo screener passes the same checks an edited one does.
    properties = {d.key: d for d in PropertyDefinition.objects.filter(
        workspace=study.workspace)}
    assert screeners.screener_problems(screeners.screener_draft(study),
                                       properties=properties) == []

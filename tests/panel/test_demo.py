"""The demo seed: a Rally-panel interview study with invitations, applications and a booking,
once however often it runs."""

import pytest

from demo import panel_recruiting as panel_demo
from demo import people as people_demo
from demo import workspace as workspace_demo
from panel.models import PanelInvitation
from rally.models import PropertyDefinition
from scheduling.models import Session
from studies.models import Study
from studies.screeners.rules import screener_problems
from studies.screeners.versions import screener_draft

pytestmark = pytest.mark.django_db


def test_demo_seed_runs_a_panel_study_once():
    for _ in range(2):
        context = workspace_demo.seed()
        people_demo.seed(context)
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
    assert screener_problems(screener_draft(study),
                                       properties=properties) == []


def test_demo_panel_study_has_consent_versions_agreements_and_reminders():
    for _ in range(2):
        context = workspace_demo.seed()
        people_demo.seed(context)
        panel_demo.seed(context)
    from participants.models import ConsentAgreement
    from scheduling.models import SessionReminder

    study = Study.objects.get(name=panel_demo.STUDY_NAME)
    assert study.consent_required and study.consent_form == panel_demo.CONSENT_V2
    assert list(study.consent_versions.order_by("number").values_list("number", flat=True)) \
        == [1, 2]
    agreements = ConsentAgreement.objects.filter(study=study)
    assert agreements.count() == 2 and set(agreements.values_list("version_number",
                                                                  flat=True)) == {1}
    session = Session.objects.get(study=study, status="upcoming")
    assert sorted(SessionReminder.objects.filter(session=session, state="pending")
                  .values_list("hours_before", flat=True)) == [1, 24]

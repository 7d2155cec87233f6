"""The demo's active interview study has applicants in every status (UI.md "Demo workspace")."""

import pytest
from django.urls import reverse

from demo import applicants as applicants_demo
from demo import people as people_demo
from demo import sessions as sessions_demo
from demo import studies as studies_demo
from demo import workspace as workspace_demo
from demo.workspace import demo_applicant_id
from participants.models import Application

pytestmark = pytest.mark.django_db


def _seed():
    context = workspace_demo.seed()
    studies_demo.seed(context)
    people_demo.seed(context)
    applicants_demo.seed(context)
    sessions_demo.seed(context)
    return context


def test_demo_applicants_cover_every_status_and_seeding_twice_adds_nothing(client):
    context = _seed()
    count = Application.objects.count()
    _seed()
    assert Application.objects.count() == count
    first = demo_applicant_id(context.workspace, "demo-review-1")
    study = Application.objects.get(ui_applicant_id=first).study
    assert set(study.applications.values_list("status", flat=True)) == set(
        Application.Status.values)
    rejected = study.applications.get(status="rejected")
    assert rejected.rejection_reason
    unqualified = study.applications.filter(status="unqualified").first()
    assert unqualified.unmet_criteria and unqualified.source == "direct_link"
    client.force_login(context.users["researcher"])
    html = client.get(reverse("participants:applicant_profile", kwargs={
        "study_id": study.id, "application_id": Application.objects.get(
            ui_applicant_id=first).id})).content.decode()
    assert "Have you onboarded a new developer" in html  # the version's question text
    assert "Clinician workflow interviews" in html  # her history in the workspace

""""Save as template" asks for the name, "Duplicate study" (SPEC S1, S7), the templates list,
and "New study" from a template showing the template's type and source."""

import re

import pytest
from django.urls import reverse

from rally.models import ActivityEntry
from recruitment import workflows
from studies.models import Source, Status, Study, StudyType
from studies.screeners.versions import screener_draft
from studies.screeners.writes import screener_question_add
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _closed(study, membership):
    study.status = Status.CLOSED
    study.save(update_fields=["status"])
    return study


def test_save_as_template_page_proposes_a_name_and_refuses_a_blank_one(client_for, researcher,
                                                                      ready_study):
    client = client_for(researcher)
    url = reverse("recruitment:study_save_as_template", args=[ready_study.id])
    page = client.get(url).content.decode()
    assert re.search(r'<input type="text" name="name" id="copy-name" '
                     r'value="Onboarding interviews \(template\)"', page)
    response = client.post(url, {"name": "   "})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Template name: Enter the template name." in html
    assert 'href="#copy-name"' in html
    assert not Study.objects.filter(is_template=True).exists()


def test_save_as_template_uses_the_name_given(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        reverse("recruitment:study_save_as_template", args=[ready_study.id]),
        {"name": "  B2B engineers pattern "})
    template = Study.objects.get(is_template=True)
    assert template.name == "B2B engineers pattern"
    assert response.url == reverse("studies:study_overview", args=[template.id])


def test_a_too_long_name_is_refused_with_its_length(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        reverse("recruitment:study_duplicate", args=[ready_study.id]), {"name": "x" * 201})
    assert response.status_code == 400
    assert "Keep the name to 200 characters or fewer (it has 201)." in response.content.decode()
    assert Study.objects.count() == 1


def test_a_name_with_a_null_character_is_refused_not_a_500(client_for, researcher, ready_study):
    for action in ("recruitment:study_duplicate", "recruitment:study_save_as_template"):
        response = client_for(researcher).post(reverse(action, args=[ready_study.id]),
                                               {"name": "Copy\x00"})
        assert response.status_code == 400
        assert "null character" in response.content.decode()
    assert Study.objects.count() == 1


def test_overview_offers_both_copies_in_dialogs_on_a_closed_study_too(client_for, researcher,
                                                                    ready_study):
    _closed(ready_study, researcher)
    html = client_for(researcher).get(
        reverse("studies:study_overview", args=[ready_study.id])).content.decode()
    for key, title in (("template", "Save as template"), ("duplicate", "Duplicate study")):
        assert re.search(rf'data-dialog-open="{key}-dialog">{title}</a>', html)
        assert f'<dialog id="{key}-dialog"' in html


def test_observer_sees_no_copy_actions_and_cannot_duplicate(client_for, observer, ready_study):
    client = client_for(observer)
    html = client.get(reverse("studies:study_overview", args=[ready_study.id])).content.decode()
    assert "Duplicate study" not in html and "Save as template" not in html
    response = client.post(reverse("recruitment:study_duplicate", args=[ready_study.id]),
                           {"name": "Mine"})
    assert response.status_code == 403
    assert Study.objects.count() == 1


def test_a_template_is_not_duplicated(client_for, researcher, ready_study):
    template = workflows.study_copy(kind="template", membership=researcher, study=ready_study,
                                    name="Pattern")
    response = client_for(researcher).post(
        reverse("recruitment:study_duplicate", args=[template.id]), {"name": "Copy"})
    assert response.status_code == 404


def test_duplicate_copies_settings_but_not_status_or_people(researcher, admin, ready_study):
    ready_study.team.add(admin.user)
    screener_question_add(membership=researcher, study=ready_study, data={
        "text": "What is your job title?", "type": "short_text", "required": True,
        "options": []})
    _closed(ready_study, researcher)
    copy = workflows.study_copy(kind="duplicate", membership=researcher, study=ready_study,
                                name="Onboarding interviews, round 2")
    assert (copy.status, copy.is_template, copy.owner) == (Status.DRAFT, False, researcher.user)
    for field in ("study_type", "source", "external_description", "participation_limit",
                  "incentive_amount", "audience_type", "criteria", "countries",
                  "duration_minutes"):
        assert getattr(copy, field) == getattr(ready_study, field), field
    assert copy.closed_at is None and copy.recruitment_started_at is None
    assert screener_draft(copy) == screener_draft(ready_study)
    assert set(copy.team.all()) == {admin.user}
    assert ActivityEntry.objects.get(study_id=copy.id, action="study.duplicated").summary == (
        "Created “Onboarding interviews, round 2” as a copy of “Onboarding interviews”")


def test_duplicate_from_the_page_goes_to_the_copy(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        reverse("recruitment:study_duplicate", args=[ready_study.id]), {"name": "Round 2"})
    copy = Study.objects.get(name="Round 2")
    assert response.url == reverse("studies:study_overview", args=[copy.id])
    assert copy.created_from_id == ready_study.id


def test_templates_list_has_no_recruiting_columns(client_for, researcher, ready_study):
    workflows.study_copy(kind="template", membership=researcher, study=ready_study, name="Pattern")
    client = client_for(researcher)
    studies_html = client.get(reverse("studies:study_list")).content.decode()
    templates_html = client.get(reverse("studies:study_list"),
                                {"show": "templates"}).content.decode()
    assert '<th scope="col" class="num align-right">Applicants</th>' in studies_html
    for label in ("Applicants", "Seats"):
        assert f">{label}</th>" not in templates_html
    assert ">Participation limit</th>" in templates_html


def test_new_study_with_a_template_shows_its_type_and_source_disabled(client_for, researcher,
                                                                     workspace):
    template = StudyFactory(workspace=workspace, owner=researcher.user, name="Group pattern",
                            study_type=StudyType.GROUP_INTERVIEW, source=Source.RALLY_PANEL,
                            is_template=True)
    client = client_for(researcher)
    region = client.get(reverse("recruitment:study_create"), {"start_from": str(template.id)},
                        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="scratch-settings")
    html = region.content.decode()
    assert "<html" not in html
    assert '<fieldset class="field" id="field-study_type" disabled' in html
    assert re.search(r'value="group_interview"[^>]*checked', html)
    assert re.search(r'value="rally_panel"[^>]*checked', html)
    assert ("Set by the template “Group pattern”: Group Interview, recruiting from Rally "
            "panel. To choose another type or source, start from scratch.") in html
    scratch = client.get(reverse("recruitment:study_create"), {"start_from": "scratch"},
                         HTTP_HX_REQUEST="true", HTTP_HX_TARGET="scratch-settings")
    assert " disabled" not in scratch.content.decode()
    # A crafted POST naming another type still gets the template's (the fields are disabled).
    client.post(reverse("recruitment:study_create"), {
        "name": "Made from the pattern", "start_from": str(template.id),
        "study_type": "interview", "source": "user_interviews"})
    made = Study.objects.get(name="Made from the pattern")
    assert (made.study_type, made.source) == (StudyType.GROUP_INTERVIEW, Source.RALLY_PANEL)

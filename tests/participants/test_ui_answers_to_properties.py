"""Q3 for User Interviews applicants: answers to mapped questions reach the profile Rally
keeps of them, through the mapping of the version they answered; UI is never sent the
mapping; a replay or an older copy changes nothing; nothing to contact them by is stored."""

import pytest
from django.urls import reverse

from participants.models import Participant
from participants.services import applications_upsert_from_ui
from rally.models import ActivityEntry
from rally.services import property_define
from recruitment.handlers import screener_payload
from studies import services
from studies.models import Source, StudyType
from studies.screeners.versions import screener_draft
from studies.screeners.writes import screener_question_add
from tests.participants.factories import ApplicationFactory, StudyFactory, applicant_record

pytestmark = pytest.mark.django_db


def _add(membership, study, text, kind, options=(), prop=""):
    return screener_question_add(membership=membership, study=study, data={
        "text": text, "type": kind, "required": True, "property": prop,
        "options": [("", label) for label in options]})


@pytest.fixture
def started(workspace, researcher):
    """A UI interview whose version 1 maps three questions to properties."""
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    property_define(workspace=workspace, key="tool", label="Main tool", type="single_select",
                    options=["Jira", "Linear"])
    property_define(workspace=workspace, key="reports", label="Direct reports", type="number")
    study = StudyFactory(workspace=workspace, owner=researcher.user,
                         study_type=StudyType.INTERVIEW, source=Source.USER_INTERVIEWS)
    uids = {
        "manages": _add(researcher, study, "Do you manage a team?", "single_choice",
                        ("Yes", "No"), "manages_team"),
        "tool": _add(researcher, study, "Which tool do you use most?", "single_choice",
                     ("Jira", "Linear"), "tool"),
        "reports": _add(researcher, study, "How many people report to you?", "number",
                        prop="reports"),
        "why": _add(researcher, study, "Why?", "long_text"),
    }
    services.study_mark_recruitment_started(study=study)
    study.refresh_from_db()
    return study, uids


def _option(study, uid, label):
    question = next(q for q in screener_draft(study) if q["uid"] == uid)
    return next(o["uid"] for o in question["options"] if o["label"] == label)


def _responses(study, uids, *, manages="Yes", tool="Linear", reports=4):
    return [
        {"questionUid": uids["manages"], "answerUids": [_option(study, uids["manages"],
                                                                manages)]},
        {"questionUid": uids["tool"], "answerUids": [_option(study, uids["tool"], tool)]},
        {"questionUid": uids["reports"], "number": reports},
        {"questionUid": uids["why"], "text": "Curious"},
    ]


def test_the_version_keeps_the_mapping_and_ui_is_not_sent_it(started):
    study, uids = started
    [version] = study.screener_versions.all()
    kept = {question["uid"]: question["property"] for question in version.questions}
    assert kept[uids["manages"]] == "manages_team" and kept[uids["why"]] == ""
    assert all("property" not in question for question in screener_payload(study)["questions"])


def test_ui_applicants_answers_fill_their_properties(started):
    study, uids = started
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, screener_version=1, screener_responses=_responses(study, uids))])
    person = Participant.objects.get(ui_participant_id="par_1")
    tool = next(option["uid"] for option in
                study.workspace.property_definitions.get(key="tool").options
                if option["label"] == "Linear")
    assert person.properties == {"manages_team": True, "tool": tool, "reports": 4}
    assert person.email == "" and person.kind == "external"
    entry = ActivityEntry.objects.get(action="participants.properties_from_screener")
    assert entry.data == {"participant_ids": [str(person.pk)]}
    assert "Linear" not in entry.summary  # values stay out of the log


def test_an_older_copy_or_a_replay_changes_nothing(started):
    study, uids = started
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, updated_minutes=10, screener_responses=_responses(study, uids, reports=9))])
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, updated_minutes=5, screener_responses=_responses(study, uids, manages="No",
                                                            reports=1))])
    person = Participant.objects.get(ui_participant_id="par_1")
    assert person.properties["reports"] == 9 and person.properties["manages_team"] is True
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, updated_minutes=10, screener_responses=_responses(study, uids, reports=9))])
    assert ActivityEntry.objects.filter(
        action="participants.properties_from_screener").count() == 1


def test_an_answer_that_does_not_fit_is_left_out_and_the_rest_kept(started):
    study, uids = started
    responses = _responses(study, uids)
    responses[2] = {"questionUid": uids["reports"], "number": "many"}
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, screener_responses=responses)])
    person = Participant.objects.get(ui_participant_id="par_1")
    assert "reports" not in person.properties and person.properties["manages_team"] is True


def test_the_profile_shows_the_properties(client_for, researcher, started):
    study, uids = started
    applications_upsert_from_ui(study=study, items=[applicant_record(
        1, screener_responses=_responses(study, uids))])
    application = study.applications.get(ui_applicant_id="app_1")
    html = client_for(researcher).get(reverse(
        "participants:applicant_profile", args=[study.id, application.id])).content.decode()
    assert '<h2 id="properties-title">Properties</h2>' in html
    for label, value in (("Manages a team", "Yes"), ("Main tool", "Linear"),
                         ("Direct reports", "4")):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html


def test_a_profile_without_properties_has_no_section(client_for, researcher, started):
    study, _ = started
    application = ApplicationFactory(study=study)
    html = client_for(researcher).get(reverse(
        "participants:applicant_profile", args=[study.id, application.id])).content.decode()
    assert "properties-title" not in html

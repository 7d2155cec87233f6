"""Screeners: the builder's writes, the rules they keep, versions, copies, pages and preview."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rally.models import ActivityEntry, OutboxOperation
from rally.services import property_define
from recruitment import workflows
from studies import selectors, services
from studies.models import ScreenerQuestion, ScreenerVersion, Status
from studies.screeners.logic import next_question_index
from studies.screeners.versions import screener_draft
from studies.screeners.writes import (
    screener_question_add,
    screener_question_delete,
    screener_question_duplicate,
    screener_question_move,
    screener_question_update,
    screener_reorder,
)
from tests.studies.factories import StudyFactory


def _add(membership, study, text, kind="short_text", options=(), **extra):
    data = {"text": text, "type": kind, "required": True,
            "options": [("", label) for label in options], **extra}
    return screener_question_add(membership=membership, study=study, data=data)


def _update(membership, study, uid, **changes):
    question = next(q for q in screener_draft(study) if q["uid"] == uid)
    data = {"text": question["text"], "type": question["type"], "help": question["help"],
            "required": question["required"],
            "options": [(o["uid"], o["label"]) for o in question["options"]],
            "scale_max": question.get("max"), "property": question["property"],
            "skip": dict(question["logic"]["skip"]),
            "show_if": list((question["logic"]["showIf"] or {}).get("answerUids", [])),
            **changes}
    return screener_question_update(membership=membership, study=study,
                                              question_uid=uid, data=data)


def _option(study, uid, label):
    question = next(q for q in screener_draft(study) if q["uid"] == uid)
    return next(o["uid"] for o in question["options"] if o["label"] == label)


@pytest.fixture
def three(researcher, study):
    """Three questions: a single choice (Yes/No), a short text, a number."""
    first = _add(researcher, study, "Do you manage a team?", "single_choice", ("Yes", "No"))
    second = _add(researcher, study, "What is your job title?")
    third = _add(researcher, study, "How many people report to you?", "number")
    return first, second, third


def _snapshot(study):
    return list(ScreenerQuestion.objects.filter(study=study).order_by("position").values(
        "uid", "position", "text", "type", "options", "skip_logic", "show_if", "property_key"))


# Building ------------------------------------------------------------------------------------


def test_questions_are_added_in_order_with_an_activity_entry(researcher, study, three):
    draft = screener_draft(study)
    assert [q["text"] for q in draft] == ["Do you manage a team?", "What is your job title?",
                                          "How many people report to you?"]
    assert [o["label"] for o in draft[0]["options"]] == ["Yes", "No"]
    assert ActivityEntry.objects.filter(study_id=study.id,
                                        action="screener.question_added").count() == 3


def test_skip_forward_to_a_later_question_is_saved(researcher, study, three):
    first, _, third = three
    yes = _option(study, first, "Yes")
    _update(researcher, study, first, skip={yes: third})
    assert screener_draft(study)[0]["logic"]["skip"] == {yes: third}


def test_logic_pointing_backwards_is_refused_and_nothing_changes(researcher, study, three):
    first = three[0]
    last = _add(researcher, study, "Which tools?", "single_choice", ("Jira", "Linear"))
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, last, skip={_option(study, last, "Jira"): first})
    assert "logic can never point backwards" in " ".join(refused.value.messages)
    assert _snapshot(study) == before


def test_a_skip_to_an_unknown_question_is_refused(researcher, study, three):
    first = three[0]
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, first,
                skip={_option(study, first, "Yes"): "00000000-0000-0000-0000-000000000000"})
    assert "no longer exists" in " ".join(refused.value.messages)
    assert _snapshot(study) == before


def test_deleting_a_question_that_logic_points_to_is_refused_with_the_reason(
        researcher, study, three):
    first, _, third = three
    _update(researcher, study, first, skip={_option(study, first, "Yes"): third})
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        screener_question_delete(membership=researcher, study=study,
                                           question_uid=third)
    assert "can't be deleted: “Do you manage a team?” skips to it" in \
        refused.value.messages[0]
    assert _snapshot(study) == before


def test_a_skip_that_leaves_a_question_unreachable_is_refused(researcher, study, three):
    first, _, third = three
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, first, skip={_option(study, first, "Yes"): third,
                                                _option(study, first, "No"): third})
    assert "can never be reached" in " ".join(refused.value.messages)
    assert _snapshot(study) == before


def test_moving_a_skip_target_above_its_source_is_refused(researcher, study, three):
    first, second, _ = three
    _update(researcher, study, first, skip={_option(study, first, "Yes"): second})
    with pytest.raises(ValidationError) as refused:
        screener_question_move(membership=researcher, study=study,
                                         question_uid=second, direction="up")
    assert "can't move up" in refused.value.messages[0]
    assert [q["uid"] for q in screener_draft(study)] == list(three)


def test_move_and_reorder_change_positions(researcher, study, three):
    first, second, third = three
    screener_question_move(membership=researcher, study=study, question_uid=third,
                                     direction="up")
    assert [q["uid"] for q in screener_draft(study)] == [first, third, second]
    screener_reorder(membership=researcher, study=study, order=[second, first, third])
    assert [q["uid"] for q in screener_draft(study)] == [second, first, third]
    with pytest.raises(ValidationError):
        screener_reorder(membership=researcher, study=study, order=[second, first])


def test_duplicate_inserts_a_copy_with_new_ids(researcher, study, three):
    copy = screener_question_duplicate(membership=researcher, study=study,
                                                 question_uid=three[0])
    draft = screener_draft(study)
    assert draft[1]["uid"] == copy and draft[1]["text"] == "Do you manage a team? (copy)"
    assert {o["uid"] for o in draft[1]["options"]}.isdisjoint(
        {o["uid"] for o in draft[0]["options"]})


def test_conditional_question_depends_on_an_earlier_answer(researcher, study, three):
    first, _, third = three
    yes = _option(study, first, "Yes")
    _update(researcher, study, third, show_if=[yes])
    assert screener_draft(study)[2]["logic"]["showIf"] == {
        "questionUid": first, "answerUids": [yes]}


def test_a_condition_on_a_later_question_is_refused(researcher, study, three):
    _first, second, _ = three
    _add(researcher, study, "Which tools?", "single_choice", ("Jira", "Linear"))
    tools = screener_draft(study)[-1]
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, second, show_if=[tools["options"][0]["uid"]],
                show_if_question=tools["uid"])
    assert "comes later" in " ".join(refused.value.messages)


@pytest.mark.parametrize(("data", "field"), [
    ({"text": "   ", "type": "short_text"}, "text"),
    ({"text": "Pick one", "type": "single_choice", "options": []}, "options"),
    ({"text": "Pick one", "type": "dropdown", "options": [("", "Only")]}, "options"),
    ({"text": "Rate it", "type": "scale", "scale_max": "7"}, "scale_max"),
    ({"text": "Rate it", "type": "scale", "scale_max": "ten"}, "scale_max"),
    ({"text": "What?", "type": "essay"}, "type"),
])
def test_bad_questions_are_refused_with_a_message_next_to_the_field(researcher, study, data,
                                                                    field):
    with pytest.raises(ValidationError) as refused:
        screener_question_add(membership=researcher, study=study,
                                        data={"required": True, **data})
    assert field in refused.value.message_dict
    assert not ScreenerQuestion.objects.filter(study=study).exists()


def test_property_mapping_accepts_matching_types_and_refuses_others(researcher, study,
                                                                   workspace):
    property_define(workspace=workspace, key="job_title", label="Job title", type="text")
    property_define(workspace=workspace, key="birthday", label="Date of birth", type="date")
    uid = _add(researcher, study, "What is your job title?", property="job_title")
    assert screener_draft(study)[0]["property"] == "job_title"
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, uid, property="birthday")
    assert "can't fill “Date of birth” (date)" in " ".join(refused.value.messages)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, uid, property="no_such_property")
    assert "does not exist" in " ".join(refused.value.messages)
    assert screener_draft(study)[0]["property"] == "job_title"


def test_observer_may_not_change_the_screener(observer, study):
    with pytest.raises(PermissionDenied):
        _add(observer, study, "Anything?")


def test_another_workspaces_study_is_not_found(outsider, study):
    from django.http import Http404

    with pytest.raises(Http404):
        _add(outsider, study, "Anything?")


def test_a_closed_study_keeps_its_screener(researcher, study, three):
    study.status = Status.CLOSED
    study.save()
    with pytest.raises(ValidationError):
        _add(researcher, study, "One more?")


# Versions -----------------------------------------------------------------------------------


def test_before_recruitment_edits_change_only_the_draft(researcher, study, three):
    assert not ScreenerVersion.objects.filter(study=study).exists()
    payload = selectors.study_screener_payload(study)
    assert payload["version"] == 1
    assert next(q["text"] for q in payload["questions"]) == "Do you manage a team?"
    assert "property" not in payload["questions"][0]


def test_start_keeps_version_one_and_each_later_edit_a_new_version_with_an_update(
        researcher, study, three):
    services.study_mark_recruitment_started(study=study)
    assert list(study.screener_versions.values_list("number", flat=True)) == [1]
    assert not OutboxOperation.objects.filter(operation="update_recruit").exists()
    _add(researcher, study, "Anything else we should know?", "long_text")
    study.refresh_from_db()
    assert selectors.study_screener_payload(study)["version"] == 2
    operation = OutboxOperation.objects.get(operation="update_recruit")
    assert operation.payload == {"study_id": str(study.id), "screener_version": 2,
                                 "fields": ["screener"]}
    # Version 1 is kept as applicants saw it.
    assert len(selectors.screener_version_questions(study, 1)) == 3
    assert len(selectors.screener_version_questions(study, 2)) == 4
    assert selectors.screener_version_questions(study, 9) is None


def test_a_refused_edit_after_start_makes_no_version(researcher, study, three):
    services.study_mark_recruitment_started(study=study)
    with pytest.raises(ValidationError):
        _add(researcher, study, "")
    assert study.screener_versions.count() == 1
    assert not OutboxOperation.objects.filter(operation="update_recruit").exists()


# Copies -------------------------------------------------------------------------------------


def test_save_as_template_and_new_study_copy_the_screener_with_its_logic(researcher, study,
                                                                       three):
    first, _, third = three
    _update(researcher, study, first, skip={_option(study, first, "Yes"): third})
    template = workflows.study_copy(kind="template", membership=researcher, study=study)
    copy = workflows.study_copy(kind="from_template", membership=researcher, name="From template",
                                study=template)
    original = screener_draft(study)
    assert screener_draft(template) == original
    assert screener_draft(copy) == original


# Preview navigation -------------------------------------------------------------------------


def test_walking_through_applies_skips_and_conditions(researcher, study, three):
    first, _second, third = three
    yes, no = _option(study, first, "Yes"), _option(study, first, "No")
    _update(researcher, study, first, skip={yes: third})
    _add(researcher, study, "Why not?", "long_text")
    why = screener_draft(study)[-1]["uid"]
    _update(researcher, study, why, show_if=[no])
    questions = screener_draft(study)
    assert next_question_index(questions, {}) == 0
    assert next_question_index(questions, {first: [yes]}, 0) == 2
    assert next_question_index(questions, {first: [yes]}, 2) is None
    assert next_question_index(questions, {first: [no]}, 0) == 1
    assert next_question_index(questions, {first: [no]}, 2) == 3


# Pages ---------------------------------------------------------------------------------------


def _url(name, study, *args):
    return reverse(f"studies:{name}", args=[study.id, *args])


def test_screener_tab_lists_questions_with_move_buttons_named_by_question(
        client_for, researcher, study, three):
    html = client_for(researcher).get(_url("study_screener", study)).content.decode()
    assert 'aria-label="Move up What is your job title?"' in html
    assert 'aria-label="Move down Do you manage a team?"' in html
    assert "No problems: every question can be reached" in html
    assert "Preview as an applicant" in html


def test_empty_screener_says_what_the_tab_is_for(client_for, researcher, study):
    html = client_for(researcher).get(_url("study_screener", study)).content.decode()
    assert "This screener has no questions yet" in html
    assert "Add a question" in html


def test_adding_by_plain_form_post_redirects_back(client_for, researcher, study):
    response = client_for(researcher).post(_url("screener_question_add", study), {
        "text": "Which devices do you use?", "type": "multiple_choice", "required": "on",
        "options_text": "Phone\nLaptop\nTablet"})
    assert response.status_code == 302
    assert [o["label"] for o in screener_draft(study)[0]["options"]] == [
        "Phone", "Laptop", "Tablet"]


def test_refused_add_keeps_what_was_typed(client_for, researcher, study):
    response = client_for(researcher).post(_url("screener_question_add", study), {
        "text": "Which devices?", "type": "single_choice", "options_text": "Phone"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Add at least two options." in html and 'value="Which devices?"' in html


def test_backwards_skip_by_post_is_refused_with_a_message(client_for, researcher, study,
                                                         three):
    first, _second, _third = three
    _add(researcher, study, "Which tools?", "single_choice", ("Jira", "Linear"))
    tools = screener_draft(study)[-1]
    before = _snapshot(study)
    response = client_for(researcher).post(
        _url("screener_question_update", study, tools["uid"]),
        {"text": "Which tools?", "type": "single_choice", "required": "on",
         "option_uid": [o["uid"] for o in tools["options"]], "option_label": ["Jira", "Linear"],
         f"skip:{tools['options'][0]['uid']}": first}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps the builder with the message
    assert "logic can never point backwards" in response.content.decode()
    assert _snapshot(study) == before


def test_observer_posting_gets_403_and_nothing_changes(client_for, observer, study, three):
    client = client_for(observer)
    before = _snapshot(study)
    for name, args in (("screener_question_add", ()), ("screener_reorder", ()),
                       ("screener_question_update", (three[0],)),
                       ("screener_question_delete", (three[0],)),
                       ("screener_question_duplicate", (three[0],)),
                       ("screener_question_move", (three[1],)), ("screener_check", ())):
        response = client.post(_url(name, study, *args), {"text": "x", "type": "short_text",
                                                          "direction": "up"})
        assert response.status_code == 403, name
    assert _snapshot(study) == before
    assert "Add a question" not in client.get(_url("study_screener", study)).content.decode()


def test_another_workspaces_study_or_question_is_404(client_for, outsider, researcher, study,
                                                     three, workspace):
    client = client_for(outsider)
    assert client.get(_url("study_screener", study)).status_code == 404
    assert client.post(_url("screener_question_delete", study, three[0])).status_code == 404
    # Our question's id posted against the outsider's own study: not found there, unchanged.
    theirs = StudyFactory(workspace=outsider.workspace, owner=outsider.user)
    response = client.post(_url("screener_question_delete", theirs, three[0]))
    assert response.status_code == 400
    assert "no longer in the screener" in response.content.decode()
    assert len(screener_draft(study)) == 3


def test_screener_tab_query_count_does_not_grow_with_questions(client_for, researcher,
                                                               study, workspace):
    client = client_for(researcher)
    url = _url("study_screener", study)
    for index in range(3):
        _add(researcher, study, f"Question {index}?", "single_choice", ("A", "B"))
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for index in range(3, 30):
        _add(researcher, study, f"Question {index}?", "single_choice", ("A", "B"))
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries) <= 15


def test_preview_steps_through_with_the_skip(client_for, researcher, study, three):
    first, _, third = three
    yes = _option(study, first, "Yes")
    _update(researcher, study, first, skip={yes: third})
    client = client_for(researcher)
    url = _url("screener_preview", study)
    html = client.get(url).content.decode()
    assert "Do you manage a team?" in html and "Question 1 of 3" in html
    html = client.post(url, {"current": first}).content.decode()
    assert "Answer this question to continue." in html
    html = client.post(url, {"current": first, "answer": yes}).content.decode()
    assert "How many people report to you?" in html and "Question 3 of 3" in html
    html = client.post(url, {"current": third, f"a:{first}": yes, "answer": "7"}
                       ).content.decode()
    assert "End of the screener" in html and "Yes" in html and "7" in html


def test_a_question_whose_condition_can_only_be_met_on_a_way_that_skips_it_is_refused(
        researcher, study):
    first = _add(researcher, study, "Do you code?", "single_choice", ("Yes", "No"))
    second = _add(researcher, study, "Which language?", "single_choice", ("Go", "Rust"))
    third = _add(researcher, study, "Tell us about your setup")
    yes = _option(study, first, "Yes")
    _update(researcher, study, second, show_if=[yes])
    _update(researcher, study, second, skip={_option(study, second, "Go"): "end",
                                             _option(study, second, "Rust"): "end"})
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, third, show_if=[yes])
    assert "is never shown" in " ".join(refused.value.messages)
    assert _snapshot(study) == before


def test_live_checks_list_what_saving_the_form_would_meet_and_save_nothing(
        client_for, researcher, study, three):
    first = three[0]
    client = client_for(researcher)
    _add(researcher, study, "Which tools?", "single_choice", ("Jira", "Linear"))
    tools = screener_draft(study)[-1]
    before = _snapshot(study)
    response = client.post(_url("screener_check", study), {
        "question_uid": tools["uid"], "text": "Which tools?", "type": "single_choice",
        "required": "on", "option_uid": [o["uid"] for o in tools["options"]],
        "option_label": ["Jira", "Linear"], f"skip:{tools['options'][0]['uid']}": first},
        HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Saving this question as it is now would be refused" in html
    assert "logic can never point backwards" in html
    response = client.post(_url("screener_check", study), {
        "text": "", "type": "single_choice", "options_text": "Only one"})
    assert "Add at least two options." in response.content.decode()
    response = client.post(_url("screener_check", study), {"text": "", "type": "short_text"})
    assert "This question can be saved" in response.content.decode()
    assert _snapshot(study) == before


def test_a_property_of_another_workspace_cannot_be_mapped(researcher, study, outsider):
    property_define(workspace=outsider.workspace, key="job_title", label="Job title",
                    type="text")
    with pytest.raises(ValidationError) as refused:
        _add(researcher, study, "What is your job title?", property="job_title")
    assert "does not exist" in " ".join(refused.value.messages)
    assert not ScreenerQuestion.objects.filter(study=study).exists()


def test_control_characters_in_question_text_are_removed_not_a_crash(researcher, study):
    uid = _add(researcher, study, "Job\x00 title?\x07", "single_choice", ("A\x00", "B"))
    question = screener_draft(study)[0]
    assert question["uid"] == uid and question["text"] == "Job title?"
    assert [o["label"] for o in question["options"]] == ["A", "B"]


def test_removing_an_option_drops_its_skip_but_not_one_a_later_condition_needs(
        researcher, study, three):
    first, second, third = three
    yes, no = _option(study, first, "Yes"), _option(study, first, "No")
    _update(researcher, study, first, skip={yes: third})
    _update(researcher, study, first, options=[(yes, ""), (no, "No"), ("", "Maybe")])
    question = screener_draft(study)[0]
    assert [o["label"] for o in question["options"]] == ["No", "Maybe"]
    assert question["logic"]["skip"] == {}
    _update(researcher, study, second, show_if=[no])
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        _update(researcher, study, first, options=[(no, ""), ("", "Yes"), ("", "Maybe")])
    assert "that no longer exists; change its condition first" in " ".join(
        refused.value.messages)
    assert _snapshot(study) == before


def test_preview_back_returns_to_the_previous_question_with_its_answer(client_for, researcher,
                                                                      study, three):
    first, second, _ = three
    no = _option(study, first, "No")
    client = client_for(researcher)
    url = _url("screener_preview", study)
    html = client.post(url, {"current": first, "answer": no, "action": "next"}).content.decode()
    assert "What is your job title?" in html and f'name="seen" value="{first}"' in html
    html = client.post(url, {"current": second, "seen": [first], f"a:{first}": no,
                             "answer": "Designer", "action": "back"}).content.decode()
    assert "Do you manage a team?" in html and "Question 1 of 3" in html
    assert f'value="{no}" checked' in html
    assert 'name="seen"' not in html

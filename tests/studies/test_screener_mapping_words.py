"""Screener points a new user tripped over (SPEC Q2, Q3): a Yes/No question fills a Yes / no
property, refusals name questions by their text (never by a number the move would change),
and the property hint says what mapping does for User Interviews applicants."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from rally.services import property_define
from studies.models import Source
from studies.screeners.versions import screener_draft
from studies.screeners.writes import screener_question_move
from tests.studies.test_screener import _add, _option, _snapshot, _update

pytestmark = pytest.mark.django_db


def test_a_yes_no_question_maps_to_a_yes_no_property(researcher, study, workspace):
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    uid = _add(researcher, study, "Do you manage a team?", "single_choice", ("Yes", "No"),
               property="manages_team")
    assert screener_draft(study)[0]["property"] == "manages_team"
    dropdown = _add(researcher, study, "Still managing?", "dropdown", ("no", "YES"),
                    property="manages_team")
    assert screener_draft(study)[1]["property"] == "manages_team"
    assert uid != dropdown


def test_other_choices_still_cannot_fill_a_yes_no_property(researcher, study, workspace):
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    with pytest.raises(ValidationError) as refused:
        _add(researcher, study, "How big is your team?", "single_choice",
             ("Yes", "No", "Sometimes"), property="manages_team")
    assert ("a single choice answer can't fill “Manages a team” (yes / no); choose a single "
            "select or text property (or give the question exactly the options Yes and No)."
            ) in " ".join(refused.value.messages)
    with pytest.raises(ValidationError):
        _add(researcher, study, "Your age?", "number", property="manages_team")


def test_a_move_that_would_jump_backwards_names_the_questions_by_their_text(researcher,
                                                                          study):
    first = _add(researcher, study, "Do you manage a team?", "single_choice", ("Yes", "No"))
    second = _add(researcher, study, "What is your job title?")
    _update(researcher, study, first, skip={_option(study, first, "Yes"): second})
    before = _snapshot(study)
    with pytest.raises(ValidationError) as refused:
        screener_question_move(membership=researcher, study=study,
                                         question_uid=second, direction="up")
    message = " ".join(refused.value.messages)
    assert message == ("“What is your job title?” can't move up: “Do you manage a team?”: the "
                       "answer “Yes” jumps back to “What is your job title?”; logic can never "
                       "point backwards.")
    assert "Question 1" not in message and "Question 2" not in message
    assert _snapshot(study) == before


def test_the_property_hint_says_what_mapping_does_for_ui_applicants(client_for, researcher,
                                                                    study, workspace):
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    _add(researcher, study, "Which tools?", "single_choice", ("Jira", "Linear"))
    client = client_for(researcher)
    html = client.get(reverse("studies:study_screener", args=[study.id])).content.decode()
    assert ("enriches this study's record of each User Interviews applicant (shown on their "
            "profile); Rally never uses it to email them or reach their calendar.") in html
    assert "Manages a team (Yes / no) — fits when the options are Yes and No" in html
    study.source = Source.RALLY_PANEL
    study.save(update_fields=["source"])
    html = client.get(reverse("studies:study_screener", args=[study.id])).content.decode()
    assert "The answer then enriches the participant's profile." in html

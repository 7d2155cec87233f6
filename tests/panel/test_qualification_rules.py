"""Automatic qualification rules on screener questions: Rally-panel studies only (SPEC Q4)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from studies.models import ScreenerQuestion
from studies.screeners.qualification import qualification_decide
from studies.screeners.rules import screener_problems
from studies.screeners.versions import screener_draft, screener_version_create
from studies.screeners.writes import screener_question_update
from tests.panel.factories import PanelStudyFactory, ScreenerQuestionFactory

pytestmark = pytest.mark.django_db

OPTIONS = [{"uid": "yes", "label": "Yes"}, {"uid": "no", "label": "No"},
           {"uid": "maybe", "label": "Maybe"}]


@pytest.fixture
def ui_study(workspace, researcher):
    return PanelStudyFactory(workspace=workspace, owner=researcher.user,
                             source="user_interviews")


def _form(question, **extra):
    data = {"text": question.text, "type": question.type, "required": "on",
            "option_uid": [o["uid"] for o in question.options],
            "option_label": [o["label"] for o in question.options]}
    data.update(extra)
    return data


def _url(study, question):
    return reverse("studies:screener_question_update",
                   kwargs={"study_id": study.id, "question_uid": question.uid})


def test_editor_saves_choice_rules_on_a_panel_study(client_for, researcher, study):
    question = ScreenerQuestionFactory(study=study, type="single_choice", options=OPTIONS)
    page = client_for(researcher).get(reverse("studies:study_screener",
                                              kwargs={"study_id": study.id}))
    assert b"Automatic qualification" in page.content
    response = client_for(researcher).post(_url(study, question), _form(
        question, **{"rule:yes": "qualify", "rule:no": "disqualify", "rule:maybe": ""}))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.auto_rules == {"qualify": ["yes"], "disqualify": ["no"]}
    assert "“Yes” qualifies automatically" in client_for(researcher).get(
        reverse("studies:study_screener", kwargs={"study_id": study.id})).content.decode()


def test_editor_saves_a_number_range_and_refuses_a_reversed_one(client_for, researcher, study):
    question = ScreenerQuestionFactory(study=study, type="number")
    response = client_for(researcher).post(_url(study, question),
                                           _form(question, rule_min="18", rule_max="65"))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.auto_rules == {"min": 18, "max": 65}
    response = client_for(researcher).post(_url(study, question),
                                           _form(question, rule_min="70", rule_max="65"))
    assert response.status_code == 400
    assert "minimum is above the maximum" in response.content.decode()
    question.refresh_from_db()
    assert question.auto_rules == {"min": 18, "max": 65}


def test_user_interviews_studies_show_no_rule_controls_and_refuse_rules(client_for, researcher,
                                                                        ui_study):
    question = ScreenerQuestionFactory(study=ui_study, type="single_choice", options=OPTIONS)
    page = client_for(researcher).get(reverse("studies:study_screener",
                                              kwargs={"study_id": ui_study.id}))
    assert b"Automatic qualification" not in page.content
    response = client_for(researcher).post(_url(ui_study, question),
                                           _form(question, **{"rule:yes": "qualify"}))
    assert response.status_code == 400
    assert "reviewed by a person" in response.content.decode()
    question.refresh_from_db()
    assert question.auto_rules == {}


def test_the_service_refuses_rules_on_a_user_interviews_study(researcher, ui_study):
    question = ScreenerQuestionFactory(study=ui_study, type="number")
    with pytest.raises(ValidationError, match="Rally-panel studies only"):
        screener_question_update(
            membership=researcher, study=ui_study, question_uid=question.uid,
            data={"text": "Age", "type": "number", "required": True, "rule_min": "18"})
    assert ScreenerQuestion.objects.get(pk=question.pk).auto_rules == {}


def _question(kind="single_choice", rules=None, uid="q1", **extra):
    question = {"uid": uid, "type": kind, "text": "Q", "help": "", "required": True,
                "options": OPTIONS if kind == "single_choice" else [],
                "logic": {"skip": {}, "showIf": None}, "property": ""}
    if rules:
        question["rules"] = rules
    question.update(extra)
    return question


@pytest.mark.parametrize(("rules", "message"), [
    ({"qualify": ["gone"]}, "no longer has"),
    ({"qualify": ["yes"], "disqualify": ["yes"]}, "both qualify and disqualify"),
    ({"min": 1}, "qualifies by its answers only"),
])
def test_choice_rule_problems(rules, message):
    problems = screener_problems([_question(rules=rules)])
    assert any(message in problem.message for problem in problems)


def test_rules_on_text_questions_are_refused():
    problems = screener_problems([_question("short_text", rules={"min": 1})])
    assert "only choice, number and scale" in problems[0].message


@pytest.mark.parametrize(("answers", "outcome"), [
    ({"q1": ["yes"], "q2": "30"}, "qualified"),
    ({"q1": ["yes"], "q2": "3"}, "unqualified"),
    ({"q1": ["no"], "q2": "30"}, "unqualified"),
    ({"q1": ["maybe"], "q2": "30"}, "review"),  # q1 has a qualify rule it did not meet
    ({"q1": ["yes"]}, "qualified"),  # the optional number left empty decides nothing
])
def test_qualification_decides_from_the_answers(answers, outcome):
    questions = [_question(rules={"qualify": ["yes"], "disqualify": ["no"]}),
                 _question("number", uid="q2", required=False, rules={"min": 18})]
    assert qualification_decide(questions, answers).outcome == outcome


def test_no_rules_means_review():
    questions = [_question()]
    assert qualification_decide(questions, {"q1": ["yes"]}).outcome == "review"


def test_rules_left_from_a_panel_past_never_reach_user_interviews(researcher, study):
    ScreenerQuestionFactory(study=study, type="single_choice", options=OPTIONS,
                            auto_rules={"qualify": ["yes"]})
    assert screener_draft(study)[0]["rules"] == {"qualify": ["yes"]}
    study.source = "user_interviews"
    study.save()
    assert "rules" not in screener_draft(study)[0]
    assert "rules" not in screener_version_create(study=study).questions[0]

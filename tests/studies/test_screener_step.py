"""The walk through a screener shared by the preview and the Rally-hosted screener."""

from django.http import QueryDict

from studies.screeners.preview import screener_step
from studies.screeners.questions import END


def _choice(uid, options, skip=None, show_if=None, required=True):
    return {"uid": uid, "type": "single_choice", "text": uid, "help": "", "required": required,
            "options": [{"uid": option, "label": option} for option in options],
            "logic": {"skip": skip or {}, "showIf": show_if}, "property": ""}


def _text(uid, required=True):
    return {"uid": uid, "type": "short_text", "text": uid, "help": "", "required": required,
            "options": [], "logic": {"skip": {}, "showIf": None}, "property": ""}


QUESTIONS = [_choice("role", ["dev", "pm"], skip={"pm": END}), _text("tools"),
             _text("notes", required=False)]


def _post(**fields):
    post = QueryDict(mutable=True)
    for key, value in fields.items():
        post.setlist(key.replace("__", ":"), value if isinstance(value, list) else [value])
    return post


def test_a_first_visit_starts_at_the_first_question():
    step = screener_step(QUESTIONS, QueryDict())
    assert (step.index, step.answers, step.seen, step.error) == (0, {}, [], "")
    assert step.form()["hidden"] == [] and not step.finished


def test_an_answer_is_kept_and_the_walk_goes_on_with_hidden_fields_for_earlier_answers():
    step = screener_step(QUESTIONS, _post(current="role", answer="dev"))
    assert step.index == 1 and step.answers == {"role": ["dev"]} and step.seen == ["role"]
    assert step.form()["hidden"] == [("a:role", "dev")]


def test_a_refused_answer_stays_on_the_question_with_the_reason():
    step = screener_step(QUESTIONS, _post(current="tools", answer="  ", seen="role",
                                          a__role="dev"))
    assert step.index == 1 and step.error == "Answer this question to continue."
    assert step.seen == ["role"] and step.answers == {"role": ["dev"]}


def test_a_skip_to_the_end_finishes_the_walk():
    step = screener_step(QUESTIONS, _post(current="role", answer="pm"))
    assert step.finished and step.question is None and step.answers == {"role": ["pm"]}


def test_back_returns_to_the_previous_question_and_drops_later_answers():
    step = screener_step(QUESTIONS, _post(action="back", current="notes",
                                          seen=["role", "tools"], a__role="dev",
                                          a__tools="Figma"))
    assert step.index == 1 and step.seen == ["role"]
    assert step.answers == {"role": ["dev"], "tools": "Figma"}
    assert step.form()["value"] == "Figma" and step.form()["hidden"] == [("a:role", "dev")]


def test_blank_carried_answers_and_unknown_seen_uids_are_ignored():
    step = screener_step(QUESTIONS, _post(current="tools", answer="Figma", seen=["nope"],
                                          a__notes=" "))
    assert step.answers == {"tools": "Figma"} and step.seen == ["tools"] and step.index == 2

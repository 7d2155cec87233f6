"""Random screeners built through the services: whatever is accepted never has a backwards
jump, a dangling reference, or a question no applicant can reach (checked by walking every
way through it, independently of the service's own check)."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies.models import ScreenerQuestion
from studies.screeners.versions import screener_draft
from studies.screeners.writes import (
    screener_question_add,
    screener_question_delete,
    screener_question_duplicate,
    screener_question_move,
    screener_question_update,
)
from tests.examples import examples

TYPES = ["short_text", "number", "single_choice", "multiple_choice", "dropdown", "scale"]

operations = st.lists(st.tuples(
    st.sampled_from(["add", "add", "skip", "skip", "condition", "move", "delete",
                     "duplicate"]),
    st.integers(0, 7), st.integers(0, 7), st.integers(0, 3), st.booleans(),
    st.sampled_from(TYPES)), min_size=1, max_size=12)


def _walk(questions):
    """Indexes shown on some way through (every answer set tried; no shortcuts)."""
    position = {q["uid"]: i for i, q in enumerate(questions)}
    # Only answers that a later condition reads change what can follow: states that agree
    # on those are the same state, which keeps the walk from growing exponentially.
    read = {q["logic"]["showIf"]["questionUid"] for q in questions if q["logic"].get("showIf")}
    shown = set()
    seen = set()

    def visit(index, answers, depth=0):
        if index >= len(questions) or depth > 40:
            return
        state = (index, tuple(sorted((uid, chosen) for uid, chosen in answers.items()
                                     if uid in read)))
        if state in seen:
            return
        seen.add(state)
        question = questions[index]
        condition = question["logic"].get("showIf")
        if condition and not set(answers.get(condition["questionUid"], ())) & set(
                condition["answerUids"]):
            visit(index + 1, answers, depth + 1)
            return
        shown.add(index)
        uids = [o["uid"] for o in question["options"]]
        if question["type"] in ("single_choice", "multiple_choice", "dropdown"):
            sizes = range(1, len(uids) + 1) if question["type"] == "multiple_choice" else [1]
            for size in sizes:
                for chosen in itertools.combinations(uids, size):
                    skips = question["logic"]["skip"]
                    target = next((skips[u] for u in uids if u in chosen and u in skips), None)
                    following = (len(questions) if target == "end"
                                 else position[target] if target else index + 1)
                    visit(following, {**answers, question["uid"]: chosen}, depth + 1)
        else:
            visit(index + 1, answers, depth + 1)
        if not question["required"]:
            visit(index + 1, answers, depth + 1)

    visit(0, {})
    return shown


def _assert_sound(questions):
    position = {q["uid"]: i for i, q in enumerate(questions)}
    for index, question in enumerate(questions):
        for target in question["logic"]["skip"].values():
            assert target == "end" or position[target] > index
        condition = question["logic"].get("showIf")
        if condition:
            assert position[condition["questionUid"]] < index
    assert _walk(questions) == set(range(len(questions)))


@pytest.mark.django_db
@settings(max_examples=examples(120), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=operations)
def test_accepted_screeners_never_jump_backwards_or_strand_a_question(researcher, study,
                                                                    steps):
    ScreenerQuestion.objects.filter(study=study).delete()
    for action, a, b, c, flag, kind in steps:
        questions = screener_draft(study)
        pick = questions[a % len(questions)] if questions else None
        try:
            if action == "add" or pick is None:
                options = [("", f"Option {n}") for n in range(c + 1)]
                screener_question_add(membership=researcher, study=study, data={
                    "text": f"Question {len(questions) + 1}", "type": kind,
                    "required": flag, "options": options, "scale_max": "5"})
            elif action in ("skip", "condition"):
                other = questions[b % len(questions)]
                targets = [q["uid"] for q in questions] + ["end", "not-a-question"]
                data = {"text": pick["text"], "type": pick["type"], "required": pick["required"],
                        "options": [(o["uid"], o["label"]) for o in pick["options"]],
                        "scale_max": pick.get("max") or "5",
                        "skip": dict(pick["logic"]["skip"]),
                        "show_if": list((pick["logic"]["showIf"] or {}).get("answerUids", []))}
                if action == "skip" and pick["options"]:
                    # flag: every answer jumps to the same place (strands what lies between)
                    chosen = pick["options"] if flag else \
                        [pick["options"][c % len(pick["options"])]]
                    for option in chosen:
                        data["skip"][option["uid"]] = targets[b % len(targets)]
                elif action == "condition" and other["options"]:
                    data["show_if"] = [other["options"][c % len(other["options"])]["uid"]]
                    data["show_if_question"] = other["uid"]
                screener_question_update(membership=researcher, study=study,
                                                   question_uid=pick["uid"], data=data)
            elif action == "move":
                screener_question_move(membership=researcher, study=study,
                                                 question_uid=pick["uid"],
                                                 direction="up" if flag else "down")
            elif action == "delete":
                screener_question_delete(membership=researcher, study=study,
                                                   question_uid=pick["uid"])
            else:
                screener_question_duplicate(membership=researcher, study=study,
                                                      question_uid=pick["uid"])
        except ValidationError as refused:
            assert refused.messages and all(message.strip() for message in refused.messages)
            assert screener_draft(study) == questions  # a refusal changes nothing
        _assert_sound(screener_draft(study))


form_values = st.one_of(st.text(max_size=30), st.sampled_from([*TYPES, "", "end", "7", "10"]))


@pytest.mark.django_db
@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(post=st.dictionaries(
    st.sampled_from(["text", "type", "required", "options_text", "scale_max", "property",
                     "help", "show_if", "option_uid", "option_label", "skip:x", "direction",
                     "order"]), form_values, max_size=8))
def test_generated_builder_posts_never_fail_and_refusals_change_nothing(client_for, researcher,
                                                                       study, post):
    from django.urls import reverse

    ScreenerQuestion.objects.filter(study=study).delete()
    screener_question_add(membership=researcher, study=study, data={
        "text": "Do you manage a team?", "type": "single_choice", "required": True,
        "options": [("", "Yes"), ("", "No")]})
    uid = screener_draft(study)[0]["uid"]
    client = client_for(researcher)
    for name, args in (("screener_question_add", ()), ("screener_question_update", (uid,)),
                       ("screener_question_move", (uid,)), ("screener_reorder", ()),
                       ("screener_check", ()), ("screener_preview", ())):
        before = screener_draft(study)
        response = client.post(reverse(f"studies:{name}", args=[study.id, *args]), post)
        assert response.status_code in (200, 302, 400), (name, response.status_code)
        if response.status_code == 400:
            assert screener_draft(study) == before

"""The sandbox's applicants walk Rally's screener logic like a person (SPEC Q2): a skip
jumps ahead, a condition hides a question, and what was passed over stays unanswered."""

from sandbox.screener import answers_draw


def _choice(uid, labels, *, skip=None, show_if=None, required=True):
    return {"uid": uid, "type": "single_choice", "text": uid, "required": required,
            "options": [{"uid": f"{uid}-{label}", "label": label} for label in labels],
            "logic": {"skip": skip or {}, "showIf": show_if}}


def _text(uid, *, show_if=None):
    return {"uid": uid, "type": "short_text", "text": uid, "required": True, "options": [],
            "logic": {"skip": {}, "showIf": show_if}}


SCREENER = [
    # "Yes" skips to q4; "No" goes on to q2, which only "No" shows; q3 always follows q2.
    _choice("q1", ("Yes", "No"), skip={"q1-Yes": "q4"}),
    _text("q2", show_if={"questionUid": "q1", "answerUids": ["q1-No"]}),
    _text("q3"),
    # "Stop" ends the screener: q5 is never answered after it.
    _choice("q4", ("Go", "Stop"), skip={"q4-Stop": "end"}),
    _text("q5"),
]


def _walk(seed):
    responses = answers_draw(SCREENER, seed=seed)
    return {response["questionUid"]: response for response in responses}


def test_every_walk_follows_the_logic():
    for seed in range(200):
        answered = _walk(seed)
        first = answered["q1"]["answerUids"]
        if first == ["q1-Yes"]:
            assert "q2" not in answered and "q3" not in answered
        else:
            assert "q2" in answered and "q3" in answered
        assert "q4" in answered
        stopped = answered["q4"]["answerUids"] == ["q4-Stop"]
        assert ("q5" in answered) is not stopped


def test_both_branches_are_walked_over_many_applicants():
    walks = [_walk(seed) for seed in range(200)]
    assert any("q2" in walk for walk in walks) and any("q2" not in walk for walk in walks)
    assert any("q5" in walk for walk in walks) and any("q5" not in walk for walk in walks)


def test_a_condition_on_an_unanswered_question_hides_the_dependent_one():
    screener = [_choice("q1", ("A", "B"), required=False),
                _text("q2", show_if={"questionUid": "q1", "answerUids": ["q1-A"]})]
    for seed in range(100):
        answered = {r["questionUid"]: r for r in answers_draw(screener, seed=seed)}
        if answered.get("q1", {}).get("answerUids") != ["q1-A"]:
            assert "q2" not in answered

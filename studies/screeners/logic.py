"""Where a screener's logic takes an applicant: which questions are shown and where an answer
skips to (the builder's checks, the preview and the Rally-hosted screener all walk this way).
"""

from studies.models import SKIP_TYPES
from studies.screeners.questions import END


def question_shown(question, answers):
    """Whether the question appears, given the answers so far ({uid: [option uids] | value})."""
    condition = question["logic"].get("showIf")
    if not condition:
        return True
    given = answers.get(condition["questionUid"]) or []
    given = given if isinstance(given, list) else [given]
    return any(uid in given for uid in condition.get("answerUids") or [])


def skip_target(question, answer):
    """The question uid (or END) an answer jumps to, or None to go on to the next question.

    With several answers to a multiple-choice question, the first chosen option (in the
    question's order) that has a skip decides.
    """
    if question["type"] not in SKIP_TYPES or not answer:
        return None
    chosen = answer if isinstance(answer, list) else [answer]
    skips = question["logic"].get("skip") or {}
    for option in question["options"]:
        if option["uid"] in chosen and skips.get(option["uid"]):
            return skips[option["uid"]]
    return None


def next_question_index(questions, answers, current=None):
    """The index of the question to show after `current` (None: the first), or None at the end."""
    start = 0
    if current is not None:
        target = skip_target(questions[current], answers.get(questions[current]["uid"]))
        if target == END:
            return None
        positions = {question["uid"]: index for index, question in enumerate(questions)}
        start = positions[target] if target in positions else current + 1
    for index in range(start, len(questions)):
        if question_shown(questions[index], answers):
            return index
    return None


def answers_shown(questions, answers):
    """The questions an applicant with these answers walks through, in order (logic applied)."""
    shown, index = [], next_question_index(questions, answers)
    while index is not None:
        shown.append(questions[index])
        index = next_question_index(questions, answers, index)
    return shown

"""The walk through a screener one question at a time (the preview and the Rally-hosted
screener): nothing is saved, the answers so far travel in the form.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from studies.models import CHOICE_TYPES, QuestionType
from studies.screeners.answers import answer_check
from studies.screeners.logic import next_question_index


@dataclass(frozen=True)
class ScreenerStep:
    """Where an applicant is after one post of a screener form: the answers so far
    ({uid: value | [option uids]}), the index of the question to show (None: the end), the
    refusal of the answer just given and the uids of the questions answered on the way."""

    questions: list
    answers: dict
    index: int | None
    error: str
    seen: list

    @property
    def finished(self):
        return self.index is None

    @property
    def question(self):
        return self.questions[self.index] if self.index is not None else None

    def form(self):
        """What the one-question form shows: the hidden fields carrying the other answers,
        and the current question's answer as choices, a value or a scale."""
        question = self.question
        hidden = [(f"a:{uid}", value) for uid, values in self.answers.items()
                  for value in (values if isinstance(values, list) else [values])
                  if uid != (question or {}).get("uid")]
        answer = self.answers.get(question["uid"]) if question else None
        return {
            "question": question, "error": self.error, "hidden": hidden, "seen": self.seen,
            "chosen": answer if isinstance(answer, list) else ([answer] if answer else []),
            "value": answer if isinstance(answer, str) else "",
            "scale": [str(n) for n in range(1, (question.get("max") or 5) + 1)]
            if question and question["type"] == QuestionType.SCALE else (),
        }


def _answers_posted(post, questions):
    """The earlier answers the form carries in its hidden "a:<uid>" fields."""
    answers = {}
    for question in questions:
        values = [value for value in post.getlist(f"a:{question['uid']}") if value.strip()]
        if values:
            answers[question["uid"]] = (values if question["type"] in CHOICE_TYPES
                                        else values[0])
    return answers


def screener_step(questions, post):
    """One step of the walk through a screener, one question at a time, logic applied
    (the preview and the Rally-hosted screener). Nothing is saved: earlier answers and the
    questions seen travel in the form's hidden fields.

    "Back" returns to the previous question (later answers no longer count); an answer to
    the `current` question is checked, kept and the walk goes on; anything else (a first
    visit) starts at the first question shown.
    """
    positions = {question["uid"]: index for index, question in enumerate(questions)}
    answers = _answers_posted(post, questions)
    seen = [uid for uid in post.getlist("seen") if uid in positions]
    current = post.get("current", "")
    error = ""
    if post.get("action") == "back" and seen:
        index = positions[seen.pop()]
        answers = {uid: value for uid, value in answers.items() if positions[uid] <= index}
    elif current in positions:
        index = positions[current]
        try:
            answer = answer_check(questions[index], post.getlist("answer"))
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            answers.pop(current, None)
            if answer is not None:
                answers[current] = answer
            seen.append(current)
            index = next_question_index(questions, answers, index)
    else:
        index = next_question_index(questions, answers)
    return ScreenerStep(questions=questions, answers=answers, index=index, error=error,
                        seen=seen)

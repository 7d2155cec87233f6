"""An applicant's answers: each one checked as posted, kept in the shape applications store,
and read back as the participant properties they fill (SPEC Q3).
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from studies.models import CHOICE_TYPES, QuestionType
from studies.screeners.logic import answers_shown
from studies.screeners.questions import plain_text


def answer_check(question, values):
    """The answer to one question as posted, or a ValidationError an applicant understands.

    `values`: the posted strings. Choice answers come back as [option uids], the others as
    the string given; None for an optional question left empty.
    """
    values = [str(value).strip() for value in values if str(value).strip()]
    if not values:
        if question["required"]:
            raise ValidationError("Answer this question to continue.")
        return None
    kind = question["type"]
    if kind in CHOICE_TYPES:
        known = {option["uid"] for option in question["options"]}
        if not set(values) <= known or (kind != QuestionType.MULTIPLE_CHOICE
                                        and len(values) > 1):
            raise ValidationError("Choose one of the listed answers.")
        return values
    value = values[0]
    if kind in (QuestionType.NUMBER, QuestionType.SCALE):
        number = answer_number(value)
        if number is None:
            raise ValidationError("Enter a number.")
        if kind == QuestionType.SCALE and not (1 <= number <= question["max"]
                                               and float(number).is_integer()):
            raise ValidationError(f"Choose a number from 1 to {question['max']}.")
        return value
    if kind == QuestionType.DATE:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Enter a date, like 1990-04-21.") from None
    if len(value) > ANSWER_MAX:
        raise ValidationError(f"Keep your answer under {ANSWER_MAX} characters.")
    return plain_text(value)


ANSWER_MAX = 5000


def answer_number(value):
    """A finite number from text (int when whole), or None."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) > Decimal("1e12"):
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def answers_as_responses(questions, answers):
    """The answers of the questions actually shown, in the shape applications keep:
    [{"questionUid", "answerUids" | "text" | "number" | "date"}]."""
    responses = []
    for question in answers_shown(questions, answers):
        value = answers.get(question["uid"])
        if value is None:
            continue
        response = {"questionUid": question["uid"]}
        if question["type"] in CHOICE_TYPES:
            response["answerUids"] = list(value)
        elif question["type"] in (QuestionType.NUMBER, QuestionType.SCALE):
            response["number"] = answer_number(value)
        elif question["type"] == QuestionType.DATE:
            response["date"] = value
        else:
            response["text"] = value
        responses.append(response)
    return responses


def mapped_answers(questions, responses):
    """{property key: raw answer} from an applicant's stored responses ([{"questionUid",
    "answerUids" | "text" | "number" | "date"}]) to the questions that map to a property
    (SPEC Q3): choice answers as their option labels (a list), others as given. Questions
    without a mapping, and answers to options the question no longer has, are left out."""
    by_uid = {question["uid"]: question for question in questions or []
              if question.get("property")}
    found = {}
    for response in responses or []:
        if not isinstance(response, dict):
            continue
        question = by_uid.get(response.get("questionUid"))
        if question is None:
            continue
        if question["type"] in CHOICE_TYPES:
            labels = {option["uid"]: option["label"] for option in question["options"]}
            chosen = [labels[uid] for uid in response.get("answerUids") or [] if uid in labels]
            if chosen:
                found[question["property"]] = chosen
        else:
            value = next((response[key] for key in ("number", "date", "text")
                          if response.get(key) not in (None, "")), None)
            if value is not None:
                found[question["property"]] = value
    return found

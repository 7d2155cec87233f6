"""The question a screener is made of, as a plain dict in the shape User Interviews receives
(and versions keep): {uid, type, text, help, required, options: [{uid, label}], min, max
(scales), logic: {skip: {option uid: question uid | "end"}, showIf: {questionUid, answerUids}
| None}, property}; Rally-panel studies may add rules (see studies.screeners.qualification).
"""

from rally.models import PropertyType
from studies.models import QuestionType

END = "end"
MAX_QUESTIONS = 100
MAX_OPTIONS = 50
TEXT_MAX, HELP_MAX, OPTION_MAX = 500, 500, 200


#: Which property types a question's answer may fill (SPEC Q3).
COMPATIBLE_PROPERTY_TYPES = {
    QuestionType.SHORT_TEXT: (PropertyType.TEXT,),
    QuestionType.LONG_TEXT: (PropertyType.TEXT,),
    QuestionType.NUMBER: (PropertyType.NUMBER,),
    QuestionType.SCALE: (PropertyType.NUMBER,),
    QuestionType.DATE: (PropertyType.DATE,),
    QuestionType.SINGLE_CHOICE: (PropertyType.SINGLE_SELECT, PropertyType.TEXT),
    QuestionType.DROPDOWN: (PropertyType.SINGLE_SELECT, PropertyType.TEXT),
    QuestionType.MULTIPLE_CHOICE: (PropertyType.MULTI_SELECT,),
}


YES_NO = ("yes", "no")


def is_yes_no(question):
    """A single choice or dropdown whose options are exactly Yes and No (in any order)."""
    if question.get("type") not in (QuestionType.SINGLE_CHOICE, QuestionType.DROPDOWN):
        return False
    labels = sorted(option["label"].strip().lower() for option in question.get("options") or [])
    return labels == sorted(YES_NO)


def compatible_property_types(question):
    """The property types this question's answer may fill: its type's, and "Yes / no" for a
    Yes/No question (its answer is then stored as yes or no)."""
    kinds = COMPATIBLE_PROPERTY_TYPES.get(question.get("type"), ())
    return (*kinds, PropertyType.BOOLEAN) if is_yes_no(question) else kinds


def question_from_row(row):
    question = {
        "uid": str(row.uid), "type": row.type, "text": row.text, "help": row.help,
        "required": row.required, "options": [dict(option) for option in row.options],
        "logic": {"skip": dict(row.skip_logic), "showIf": dict(row.show_if) or None},
        "property": row.property_key,
    }
    if row.type == QuestionType.SCALE:
        question["min"], question["max"] = 1, row.scale_max
    if row.auto_rules:
        question["rules"] = dict(row.auto_rules)  # Rally-panel studies only (qualification.py)
    return question


def question_row_fields(question):
    return {
        "type": question["type"], "text": question["text"], "help": question.get("help", ""),
        "required": question["required"], "options": question.get("options", []),
        "scale_max": question.get("max") if question["type"] == QuestionType.SCALE else None,
        "skip_logic": question["logic"].get("skip") or {},
        "show_if": question["logic"].get("showIf") or {},
        "property_key": question.get("property", ""),
        "auto_rules": question.get("rules") or {},
    }


def short(text, limit=60):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def question_name(questions, index):
    """A question by its text: numbers change as questions move, and a refusal naming the
    order being tried would point at the wrong question."""
    return f"“{short(questions[index]['text'], 50)}”"


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def plain_text(value):
    """Text without control characters (Postgres refuses NUL; none belong in a question)."""
    return str(value if value is not None else "").translate(_CONTROL)

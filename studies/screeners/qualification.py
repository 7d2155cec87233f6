"""Rally-panel auto-qualification (issue 9).

A question of a Rally-panel study may carry "rules": for choice questions the answers that
qualify and the answers that disqualify, for number and scale questions the range that
qualifies (outside it disqualifies). They never apply to User Interviews studies (SPEC Q4):
`screener_problems(..., rules_allowed=False)` refuses them there, and only the panel's
hosted screener reads them. An applicant is Unqualified when any answer disqualifies,
qualified when every rule they met qualified them (and at least one did), and otherwise
left for a person to review.
"""

from dataclasses import dataclass
from enum import StrEnum

from studies.models import CHOICE_TYPES, QuestionType
from studies.screeners.answers import answer_number
from studies.screeners.logic import answers_shown
from studies.screeners.questions import short


class Qualification(StrEnum):
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    REVIEW = "review"


@dataclass(frozen=True)
class QualificationResult:
    outcome: Qualification
    reasons: tuple = ()  # the answers that decided, in words


def qualification_rules_from_form(kind, data, options):
    """(rules, error) from the editor's fields: "qualify"/"disqualify" (option uids) for
    choice questions, "rule_min"/"rule_max" for number and scale questions."""
    own = {option["uid"] for option in options}
    if kind in CHOICE_TYPES:
        qualify = [str(uid) for uid in data.get("qualify") or [] if str(uid) in own]
        disqualify = [str(uid) for uid in data.get("disqualify") or [] if str(uid) in own]
        if set(qualify) & set(disqualify):
            return {}, "An answer can't both qualify and disqualify."
        rules = {key: value for key, value in
                 (("qualify", qualify), ("disqualify", disqualify)) if value}
        return rules, ""
    if kind in (QuestionType.NUMBER, QuestionType.SCALE):
        rules = {}
        for field_name, key in (("rule_min", "min"), ("rule_max", "max")):
            text = str(data.get(field_name) or "").strip()
            if not text:
                continue
            number = answer_number(text)
            if number is None:
                return {}, "Enter the qualifying range as numbers."
            rules[key] = number
        if "min" in rules and "max" in rules and rules["min"] > rules["max"]:
            return {}, "The qualifying minimum is above the maximum."
        return rules, ""
    return {}, ""


def qualification_decide(questions, answers):
    """What a Rally-panel applicant's answers decide (see this section's comment).

    Only questions the applicant was shown count; an optional question left empty decides
    nothing.
    """
    qualified, disqualified, undecided = [], [], False
    for question in answers_shown(questions, answers):
        rules = question.get("rules") or {}
        value = answers.get(question["uid"])
        if not rules or value is None:
            continue
        text = short(question["text"], 60)
        if question["type"] in CHOICE_TYPES:
            chosen = set(value)
            labels = {option["uid"]: option["label"] for option in question["options"]}
            bad = [labels[uid] for uid in rules.get("disqualify") or [] if uid in chosen]
            if bad:
                disqualified.append(f"“{text}”: {', '.join(bad)}")
            elif rules.get("qualify"):
                if chosen & set(rules["qualify"]):
                    qualified.append(f"“{text}”")
                else:
                    undecided = True
        else:
            number = answer_number(value)
            low, high = rules.get("min"), rules.get("max")
            if number is None:
                continue
            if (low is not None and number < low) or (high is not None and number > high):
                disqualified.append(f"“{text}”: {value}")
            else:
                qualified.append(f"“{text}”")
    if disqualified:
        return QualificationResult(Qualification.UNQUALIFIED, tuple(disqualified))
    if qualified and not undecided:
        return QualificationResult(Qualification.QUALIFIED, tuple(qualified))
    return QualificationResult(Qualification.REVIEW)

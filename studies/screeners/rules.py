"""The rules a screener must keep (SPEC Q1 to Q5): `screener_problems` says everything wrong
with a whole screener, so a saved screener never has a backwards jump, a dangling reference,
a question nobody can reach or (on a User Interviews study) a qualification rule.
"""

from dataclasses import dataclass

from rally.models import PropertyType
from studies.models import CHOICE_TYPES, SCALE_MAXIMA, SKIP_TYPES, QuestionType
from studies.screeners.logic import question_shown, skip_target
from studies.screeners.questions import (
    END,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    compatible_property_types,
    question_name,
    short,
)


@dataclass(frozen=True)
class ScreenerProblem:
    question_uid: str | None
    message: str


def _successors(questions, index, positions):
    """Where an applicant can go after question `index` (indexes; len() means the end)."""
    question = questions[index]
    following = index + 1
    found = set()
    skips = question["logic"].get("skip") or {} if question["type"] in SKIP_TYPES else {}
    if question["type"] in SKIP_TYPES and question["options"]:
        for option in question["options"]:
            target = skips.get(option["uid"])
            if target == END:
                found.add(len(questions))
            elif target in positions:
                found.add(positions[target])
            else:
                found.add(following)
    else:
        found.add(following)
    if not question["required"] or question["logic"].get("showIf"):
        found.add(following)  # left unanswered, or not shown at all
    return found


def _reachable(questions, positions):
    seen, stack = set(), [0] if questions else []
    while stack:
        index = stack.pop()
        if index in seen or index >= len(questions):
            continue
        seen.add(index)
        stack.extend(_successors(questions, index, positions) - seen)
    return seen


#: Beyond this many walk states the check falls back to skip logic alone (huge screeners).
WALK_LIMIT = 50_000


def _answer_sets(question):
    """The answers worth trying: each option alone; for multiple choice every combination
    (the first chosen option with a skip decides, and conditions look at any chosen one)."""
    uids = [option["uid"] for option in question.get("options") or []]
    if question["type"] != QuestionType.MULTIPLE_CHOICE or len(uids) > 8:
        return [(uid,) for uid in uids]
    return [tuple(uid for bit, uid in enumerate(uids) if mask >> bit & 1)
            for mask in range(1, 1 << len(uids))]


def _shown_somewhere(questions, positions):
    """The indexes some applicant actually sees, walking every way through the screener
    (answers that later conditions read are part of the walk's state). None if too large."""
    read = {(q["logic"].get("showIf") or {}).get("questionUid") for q in questions} - {None}
    shown, seen = set(), set()
    stack = [(0, frozenset())] if questions else []
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        if len(seen) > WALK_LIMIT:
            return None
        index, given = state
        if index >= len(questions):
            continue
        question = questions[index]
        answers = dict(given)
        if not question_shown(question, {uid: list(chosen) for uid, chosen in answers.items()}):
            stack.append((index + 1, given))
            continue
        shown.add(index)
        if not question["required"] or question["type"] not in CHOICE_TYPES:
            stack.append((index + 1, given))
        if question["type"] not in CHOICE_TYPES:
            continue
        for chosen in _answer_sets(question):
            target = skip_target(question, list(chosen))
            following = (len(questions) if target == END else
                         positions.get(target, index + 1) if target else index + 1)
            kept = (given | {(question["uid"], chosen)}) if question["uid"] in read else given
            stack.append((following, kept))
    return shown


def _question_problems(questions, index, positions, properties):
    question, name = questions[index], question_name(questions, index)
    problems = []

    def add(message):
        problems.append(ScreenerProblem(question["uid"], f"{name}: {message}"))

    if not question["text"].strip():
        problems.append(ScreenerProblem(question["uid"],
                                        f"Question {index + 1}: enter the question text."))
    if question["type"] not in QuestionType.values:
        add("choose one of the listed question types.")
        return problems
    options = question.get("options") or []
    labels = {option["uid"]: option["label"] for option in options}
    if question["type"] in CHOICE_TYPES:
        if len(options) < 2:
            add("a choice question needs at least two options.")
        if any(not option["label"].strip() for option in options):
            add("every option needs a label.")
        lowered = [option["label"].strip().lower() for option in options]
        if len(set(lowered)) != len(lowered):
            add("two options have the same label.")
        if len(options) > MAX_OPTIONS:
            add(f"a question can have at most {MAX_OPTIONS} options.")
    elif options:
        add("only choice questions have options.")
    if question["type"] == QuestionType.SCALE and question.get("max") not in SCALE_MAXIMA:
        add("a scale goes from 1 to 5 or from 1 to 10.")
    skips = question["logic"].get("skip") or {}
    if skips and question["type"] not in SKIP_TYPES:
        add("only single- and multiple-choice answers can skip to another question.")
    for option_uid, target in skips.items():
        label = labels.get(option_uid)
        if label is None:
            add("skip logic refers to an answer the question no longer has.")
        elif target != END and target not in positions:
            add(f"the answer “{short(label, 40)}” skips to a question that no longer exists.")
        elif target != END and positions[target] <= index:
            add(f"the answer “{short(label, 40)}” jumps back to "
                f"{question_name(questions, positions[target])}; logic can never point backwards.")
    condition = question["logic"].get("showIf")
    if condition:
        source_uid = condition.get("questionUid")
        if source_uid not in positions:
            add("it is shown only after an answer to a question that no longer exists.")
        elif positions[source_uid] >= index:
            add(f"it depends on the answer to "
                f"{question_name(questions, positions[source_uid])}, which comes later; "
                f"logic can never point backwards.")
        else:
            source = questions[positions[source_uid]]
            source_options = {option["uid"] for option in source.get("options") or []}
            answers = condition.get("answerUids") or []
            if source["type"] not in CHOICE_TYPES:
                add("it can depend only on the answer to a choice question.")
            elif not answers:
                add("choose which answers of the earlier question show it.")
            elif not set(answers) <= source_options:
                add(f"it is shown after an answer to "
                    f"{question_name(questions, positions[source_uid])} that no longer exists; "
                    f"change its condition first.")
    key = question.get("property") or ""
    if key and properties is not None:
        definition = properties.get(key)
        if definition is None:
            add("it maps to a participant property that does not exist.")
        elif definition.type not in compatible_property_types(question):
            allowed = " or ".join(PropertyType(kind).label.lower() for kind in
                                  compatible_property_types(question))
            also = (" (or give the question exactly the options Yes and No)"
                    if definition.type == PropertyType.BOOLEAN
                    and question["type"] in (QuestionType.SINGLE_CHOICE, QuestionType.DROPDOWN)
                    else "")
            add(f"a {QuestionType(question['type']).label.lower()} answer can't fill "
                f"“{definition.label}” ({PropertyType(definition.type).label.lower()}); "
                f"choose a {allowed} property{also}.")
    return problems


def screener_problems(questions, *, properties=None, rules_allowed=True):
    """Everything wrong with this screener (empty when it can be saved), in question order.

    `properties` maps keys to the workspace's PropertyDefinitions (None: not checked).
    `rules_allowed` is False for User Interviews studies: no automatic qualification there.
    """
    problems = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(ScreenerProblem(None, f"A screener can have at most {MAX_QUESTIONS} "
                                              f"questions."))
    positions = {}
    for index, question in enumerate(questions):
        if question["uid"] in positions:
            problems.append(ScreenerProblem(question["uid"], "Two questions share an id."))
        positions[question["uid"]] = index
    for index in range(len(questions)):
        problems.extend(_question_problems(questions, index, positions, properties))
        problems.extend(_rule_problems(questions, index, rules_allowed=rules_allowed))
    if problems:
        return problems  # walking a screener with dangling logic would mislead
    reachable = _reachable(questions, positions)
    shown = _shown_somewhere(questions, positions)
    for index, question in enumerate(questions):
        if index not in reachable:
            problems.append(ScreenerProblem(
                question["uid"], f"{question_name(questions, index)} can never be reached: the "
                                 f"skip logic before it always jumps past it."))
        elif shown is not None and index not in shown:
            problems.append(ScreenerProblem(
                question["uid"], f"{question_name(questions, index)} is never shown: no applicant "
                                 f"can give the answers it depends on and still reach it."))
    return problems


# Qualification rules (studies.screeners.qualification) are checked here with the rest: well
# formed on a Rally-panel study, refused on a User Interviews study.

RULES_UI_REFUSED = ("automatic qualification is for Rally-panel studies only: every User "
                    "Interviews applicant is reviewed by a person.")


def _rule_problems(questions, index, *, rules_allowed):
    question = questions[index]
    rules = question.get("rules") or {}
    if not rules:
        return []
    name = question_name(questions, index)
    if not rules_allowed:
        return [ScreenerProblem(question["uid"], f"{name}: {RULES_UI_REFUSED}")]
    problems = []

    def add(message):
        problems.append(ScreenerProblem(question["uid"], f"{name}: {message}"))

    if not isinstance(rules, dict):
        add("its qualification rules can't be read.")
        return problems
    kind = question["type"]
    if kind in CHOICE_TYPES:
        own = {option["uid"] for option in question.get("options") or []}
        qualify = rules.get("qualify") or []
        disqualify = rules.get("disqualify") or []
        if set(rules) - {"qualify", "disqualify"}:
            add("a choice question qualifies by its answers only.")
        if not isinstance(qualify, list) or not isinstance(disqualify, list) \
                or not set(qualify) | set(disqualify) <= own:
            add("a qualification rule refers to an answer the question no longer has.")
        elif set(qualify) & set(disqualify):
            add("an answer can't both qualify and disqualify.")
    elif kind in (QuestionType.NUMBER, QuestionType.SCALE):
        low, high = rules.get("min"), rules.get("max")
        if set(rules) - {"min", "max"} or not all(
                value is None or (isinstance(value, int | float) and not isinstance(value, bool))
                for value in (low, high)):
            add("a number question qualifies by a range (a minimum and a maximum).")
        elif low is None and high is None:
            add("give a minimum, a maximum or both.")
        elif low is not None and high is not None and low > high:
            add("the qualifying minimum is above the maximum.")
    else:
        add("only choice, number and scale answers can qualify or disqualify.")
    return problems

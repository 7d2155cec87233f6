"""Screeners (SPEC Q1 to Q5): the questions, their logic, the rules a screener must keep,
how an applicant walks through it, versions once recruitment has started, and the writes.

A question is handled as a plain dict in the shape User Interviews receives (and versions
keep): {uid, type, text, help, required, options: [{uid, label}], min, max (scales),
logic: {skip: {option uid: question uid | "end"}, showIf: {questionUid, answerUids} | None},
property}. Every write builds the whole new screener, checks it with `screener_problems`
and refuses, changing nothing, when anything is wrong — so a saved screener never has a
backwards jump, a dangling reference or a question nobody can reach.

Qualification: for User Interviews studies answers NEVER qualify or disqualify anyone
(SPEC Q4): every applicant is reviewed by a person, and nothing in this module decides an
applicant's status. Rally-panel auto-qualification rules (issue 9) belong in a section of
their own at the end of this module, next to the answers they would read.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from rally import clock
from rally.models import PropertyDefinition, PropertyType
from rally.permissions import Permission
from rally.services import activity_record, outbox_enqueue
from studies import services
from studies.models import (
    CHOICE_TYPES,
    SCALE_MAXIMA,
    SKIP_TYPES,
    QuestionType,
    ScreenerQuestion,
    ScreenerVersion,
    Status,
)

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


# The question dict ---------------------------------------------------------------------------


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
        question["rules"] = dict(row.auto_rules)  # Rally-panel studies only (see the end)
    return question


def _row_fields(question):
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


def _name(questions, index):
    """A question by its text: numbers change as questions move, and a refusal naming the
    order being tried would point at the wrong question."""
    return f"“{short(questions[index]['text'], 50)}”"


# The rules -----------------------------------------------------------------------------------


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
    question, name = questions[index], _name(questions, index)
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
                f"{_name(questions, positions[target])}; logic can never point backwards.")
    condition = question["logic"].get("showIf")
    if condition:
        source_uid = condition.get("questionUid")
        if source_uid not in positions:
            add("it is shown only after an answer to a question that no longer exists.")
        elif positions[source_uid] >= index:
            add(f"it depends on the answer to {_name(questions, positions[source_uid])}, which "
                f"comes later; logic can never point backwards.")
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
                    f"{_name(questions, positions[source_uid])} that no longer exists; "
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
                question["uid"], f"{_name(questions, index)} can never be reached: the skip "
                                 f"logic before it always jumps past it."))
        elif shown is not None and index not in shown:
            problems.append(ScreenerProblem(
                question["uid"], f"{_name(questions, index)} is never shown: no applicant "
                                 f"can give the answers it depends on and still reach it."))
    return problems


# Walking through it (preview) ----------------------------------------------------------------


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


# Versions ------------------------------------------------------------------------------------


def screener_draft(study):
    questions = [question_from_row(row) for row in study.screener_questions.order_by("position")]
    if study.is_user_interviews:
        # Qualification rules left from when the study recruited from the panel never reach
        # User Interviews, its versions or its applicants (SPEC Q4).
        for question in questions:
            question.pop("rules", None)
    return questions


def snapshot_for_ui(questions):
    """The questions as User Interviews shows them to applicants (no property mapping)."""
    return [{key: value for key, value in question.items() if key != "property"}
            for question in questions]


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


def _latest_version(study):
    return study.screener_versions.order_by("-number").first()


def screener_version_create(*, study, actor=None, reason="changed"):
    """Keep the draft as a new version when it differs from the latest one (else None).

    Call with the study row locked. Returns the new ScreenerVersion.
    """
    # A version keeps the property mapping with the questions (Rally's record of what each
    # answer fills); what User Interviews is sent leaves it out (selectors.
    # study_screener_payload).
    questions = screener_draft(study)
    latest = _latest_version(study)
    if latest is not None and latest.questions == questions:
        return None
    number = (latest.number if latest else 0) + 1
    version = ScreenerVersion.objects.create(study=study, number=number, questions=questions,
                                             created_by=actor, created_at=clock.now())
    summary = (f"Screener version {number} of “{study.name}” will be sent with the recruit"
               if reason == "start" else
               f"Screener version {number} of “{study.name}”: only new applicants see it")
    activity_record(workspace=study.workspace, actor=actor,
                    actor_label="" if actor else "Rally", action="screener.version_created",
                    summary=summary, study_id=study.id, data={"version": number})
    return version


def screener_version_at_start(*, study):
    """"Start Recruitment" keeps the draft as the version the recruit is created with.

    Runs inside the start transaction (studies.services.study_mark_recruitment_started).
    """
    return screener_version_create(study=study, reason="start")


# Writes --------------------------------------------------------------------------------------


def _properties(workspace_id):
    return {definition.key: definition for definition in
            PropertyDefinition.objects.filter(workspace_id=workspace_id)}


def _locked_study(membership, study):
    if not membership.allows(Permission.EDIT_STUDY):
        raise PermissionDenied
    study = services._lock(membership=membership, study=study)
    if study.status == Status.CLOSED:
        raise ValidationError("The study is closed: its screener can no longer change.")
    return study


def _rows(study):
    return list(study.screener_questions.order_by("position"))


def _index(questions, question_uid):
    for index, question in enumerate(questions):
        if question["uid"] == str(question_uid):
            return index
    raise ValidationError("That question is no longer in the screener; reload the page.")


def _save(membership, study, rows, questions, *, action, summary, data=None, prefix="",
          field=None):
    """Check the whole new screener, write the difference, record it; refuse on problems
    (said of the form's `field` when given)."""
    problems = screener_problems(questions, properties=_properties(study.workspace_id),
                                 rules_allowed=not study.is_user_interviews)
    if problems:
        messages = [prefix + problem.message for problem in problems]
        raise ValidationError({field: messages} if field else messages)
    by_uid = {str(row.uid): row for row in rows}
    for position, question in enumerate(questions):
        fields = {**_row_fields(question), "position": position}
        row = by_uid.pop(question["uid"], None)
        if row is None:
            ScreenerQuestion.objects.create(study=study, uid=question["uid"], **fields)
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
    if by_uid:
        ScreenerQuestion.objects.filter(pk__in=[row.pk for row in by_uid.values()]).delete()
    services._touch(study, [])
    activity_record(workspace=study.workspace, actor=membership.user, action=action,
                    summary=summary, study_id=study.id, data=data or {})
    version = None
    if study.is_recruitment_locked:
        version = screener_version_create(study=study, actor=membership.user)
        if version is not None:
            outbox_enqueue(workspace=study.workspace, operation="update_recruit",
                           subject=f"{study.id}:screener:{version.number}",
                           payload={"study_id": str(study.id),
                                    "screener_version": version.number,
                                    "fields": ["screener"]},
                           study_id=study.id)
    return version


def _parse_scale(value):
    try:
        return int(str(value).strip())
    except ValueError:
        return None


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def _plain(value):
    """Text without control characters (Postgres refuses NUL; none belong in a question)."""
    return str(value if value is not None else "").translate(_CONTROL)


def question_clean(*, data, existing=None):
    """The question a form describes, and {field: message} for what is wrong with it alone.

    `data`: text, help, type, required (bool), options ([(uid or "", label)] — blank labels
    are dropped), scale_max, property, skip ({option uid: target | ""}), show_if ([option
    uids of one earlier question], with show_if_question). Lenient: always returns a dict
    the form can show again.
    """
    existing = existing or {}
    kind = str(data.get("type") or existing.get("type") or "")
    question = {
        "uid": existing.get("uid") or str(uuid.uuid4()),
        "type": kind,
        "text": " ".join(_plain(data.get("text")).split())[:TEXT_MAX + 1],
        "help": _plain(data.get("help")).strip()[:HELP_MAX + 1],
        "required": bool(data.get("required")),
        "options": [],
        "logic": {"skip": {}, "showIf": None},
        "property": _plain(data.get("property")).strip()[:60],
    }
    errors = {}
    if not question["text"]:
        errors["text"] = "Enter the question text."
    elif len(question["text"]) > TEXT_MAX:
        errors["text"] = f"Keep the question under {TEXT_MAX} characters."
    if len(question["help"]) > HELP_MAX:
        errors["help"] = f"Keep the hint under {HELP_MAX} characters."
    if kind not in QuestionType.values:
        errors["type"] = "Choose one of the listed question types."
    known = {option["uid"] for option in existing.get("options") or []}
    if kind in CHOICE_TYPES:
        for option_uid, label in data.get("options") or []:
            label = " ".join(_plain(label).split())
            if not label:
                continue
            if len(label) > OPTION_MAX:
                errors["options"] = f"Keep each option under {OPTION_MAX} characters."
            option_uid = str(option_uid) if option_uid in known else str(uuid.uuid4())
            question["options"].append({"uid": option_uid, "label": label[:OPTION_MAX]})
        if len(question["options"]) < 2:
            errors["options"] = "Add at least two options."
    if kind == QuestionType.SCALE:
        question["min"], question["max"] = 1, _parse_scale(data.get("scale_max") or "5")
        if question["max"] not in SCALE_MAXIMA:
            errors["scale_max"] = "Choose a scale from 1 to 5 or from 1 to 10."
    if kind in SKIP_TYPES:
        own = {option["uid"] for option in question["options"]}
        for option_uid, target in (data.get("skip") or {}).items():
            target = str(target or "").strip()
            if not target or (option_uid in known and option_uid not in own):
                continue  # no skip, or the option was just removed (its skip goes with it)
            if option_uid not in own:
                errors["skip"] = "Skip logic can only use this question's own answers."
                continue
            question["logic"]["skip"][option_uid] = target
    answers = [str(uid) for uid in data.get("show_if") or [] if uid]
    if answers:
        question["logic"]["showIf"] = {"questionUid": str(data.get("show_if_question") or ""),
                                       "answerUids": answers}
    rules, rule_error = _rules_from_form(kind, data, question["options"])
    if rule_error:
        errors["rules"] = rule_error
    if rules:
        question["rules"] = rules
    return question, errors


def _show_if_from_form(questions, option_uids):
    """The earlier question whose options these are (they must all belong to one)."""
    owners = {question["uid"] for question in questions for option in question.get("options")
              or [] if option["uid"] in set(option_uids)}
    if len(owners) > 1:
        raise ValidationError({"show_if": "Choose answers of one question only."})
    return owners.pop() if owners else ""


def _clean_or_refuse(data, questions, existing=None):
    data = dict(data)
    if data.get("show_if") and not data.get("show_if_question"):
        data["show_if_question"] = _show_if_from_form(questions, data["show_if"])
    question, errors = question_clean(data=data, existing=existing)
    if errors:
        raise ValidationError(errors)
    return question


def screener_check_change(*, study, data, question_uid=None):
    """The problems saving this question form would meet (the live checks panel); saves
    nothing. `question_uid` None: the "Add a question" form."""
    questions = screener_draft(study)
    existing, index = None, len(questions)
    if question_uid is not None:
        index = _index(questions, question_uid)
        existing = questions[index]
    data = dict(data)
    if data.get("show_if") and not data.get("show_if_question"):
        try:
            data["show_if_question"] = _show_if_from_form(questions, data["show_if"])
        except ValidationError as error:
            return [ScreenerProblem(existing and existing["uid"], error.messages[0])]
    question, errors = question_clean(data=data, existing=existing)
    uid = existing["uid"] if existing else None
    if question_uid is None and not question["text"]:
        # A new question not typed yet: only what is wrong with what was filled in.
        return [ScreenerProblem(None, message) for field, message in errors.items()
                if field != "text"]
    problems = [ScreenerProblem(uid, message) for message in errors.values()]
    proposed = list(questions)
    if existing is None:
        proposed.append(question)
    else:
        proposed[index] = question
    return problems + screener_problems(proposed, properties=_properties(study.workspace_id),
                                        rules_allowed=not study.is_user_interviews)


@transaction.atomic(durable=True)
def screener_question_add(*, membership, study, data):
    """Add a question at the end; returns its uid."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    question = _clean_or_refuse(data, questions)
    questions.append(question)
    _save(membership, study, rows, questions, action="screener.question_added",
          summary=f"Added the screener question “{short(question['text'])}” to "
                  f"“{study.name}”", data={"question": question["uid"]}, field="screener")
    return question["uid"]


@transaction.atomic(durable=True)
def screener_question_update(*, membership, study, question_uid, data):
    """Change one question (text, type, options, logic, mapping) as its form describes."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    index = _index(questions, question_uid)
    before = questions[index]
    question = _clean_or_refuse(data, questions, existing=before)
    if question == before:
        return question["uid"]
    questions[index] = question
    _save(membership, study, rows, questions, action="screener.question_updated",
          summary=f"Changed the screener question “{short(question['text'])}” of "
                  f"“{study.name}”", data={"question": question["uid"]}, field="screener")
    return question["uid"]


@transaction.atomic(durable=True)
def screener_question_duplicate(*, membership, study, question_uid):
    """A copy right after the question (new ids, same logic); returns the copy's uid."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    index = _index(questions, question_uid)
    original = questions[index]
    renamed = {option["uid"]: str(uuid.uuid4()) for option in original["options"]}
    copy = {**original, "uid": str(uuid.uuid4()),
            "text": short(original["text"] + " (copy)", TEXT_MAX),
            "options": [{"uid": renamed[option["uid"]], "label": option["label"]}
                        for option in original["options"]],
            "logic": {"skip": {renamed[key]: target for key, target in
                               (original["logic"].get("skip") or {}).items() if key in renamed},
                      "showIf": original["logic"].get("showIf")}}
    questions.insert(index + 1, copy)
    _save(membership, study, rows, questions, action="screener.question_duplicated",
          summary=f"Duplicated the screener question “{short(original['text'])}” of "
                  f"“{study.name}”", data={"question": original["uid"], "copy": copy["uid"]},
          prefix="The copy can't be added: ")
    return copy["uid"]


def _references_to(questions, question_uid):
    """Names of the questions whose logic points at `question_uid`."""
    found = []
    for index, question in enumerate(questions):
        skips = (question["logic"].get("skip") or {}).values()
        condition = question["logic"].get("showIf") or {}
        if question_uid in skips:
            found.append(f"{_name(questions, index)} skips to it")
        if condition.get("questionUid") == question_uid:
            found.append(f"{_name(questions, index)} is shown only after its answer")
    return found


@transaction.atomic(durable=True)
def screener_question_delete(*, membership, study, question_uid):
    """Remove a question. Refused, with the reason, while other questions' logic uses it."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    index = _index(questions, question_uid)
    removed = questions.pop(index)
    references = _references_to(questions, removed["uid"])
    if references:
        raise ValidationError(
            f"“{short(removed['text'])}” can't be deleted: " + "; ".join(references)
            + ". Change that logic first.")
    _save(membership, study, rows, questions, action="screener.question_deleted",
          summary=f"Deleted the screener question “{short(removed['text'])}” of "
                  f"“{study.name}”", data={"question": removed["uid"]})


@transaction.atomic(durable=True)
def screener_question_move(*, membership, study, question_uid, direction):
    """"Move up" / "Move down" by one place. Refused when logic would then point backwards."""
    if direction not in ("up", "down"):
        raise ValidationError("Choose to move the question up or down.")
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    index = _index(questions, question_uid)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(questions):
        return
    questions[index], questions[other] = questions[other], questions[index]
    moved = questions[other]
    _save(membership, study, rows, questions, action="screener.question_moved",
          summary=f"Moved the screener question “{short(moved['text'])}” of “{study.name}” "
                  f"{direction} to place {other + 1}",
          data={"question": moved["uid"], "position": other + 1},
          prefix=f"“{short(moved['text'])}” can't move {direction}: ")


@transaction.atomic(durable=True)
def screener_reorder(*, membership, study, order):
    """Put the questions in `order` (every question's uid once: drag and drop)."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    questions = [question_from_row(row) for row in rows]
    by_uid = {question["uid"]: question for question in questions}
    order = [str(uid) for uid in order]
    if sorted(order) != sorted(by_uid):
        raise ValidationError("The screener changed since the page was loaded; reload it and "
                              "try again.")
    reordered = [by_uid[uid] for uid in order]
    if reordered == questions:
        return
    _save(membership, study, rows, reordered, action="screener.reordered",
          summary=f"Reordered the screener of “{study.name}”", data={"order": order},
          prefix="That order can't be saved: ")


# Copies (templates) --------------------------------------------------------------------------


def screener_copy(*, source, target):
    """"Save as template", "Duplicate study" and "New study" from a template copy the draft
    screener (same question and option ids, so the logic keeps pointing where it did); part
    of `recruitment.workflows.study_copy`."""
    if target.screener_questions.exists():
        return
    ScreenerQuestion.objects.bulk_create([
        ScreenerQuestion(study=target, uid=row.uid, position=row.position, type=row.type,
                         text=row.text, help=row.help, required=row.required,
                         options=row.options, scale_max=row.scale_max,
                         skip_logic=row.skip_logic, show_if=row.show_if,
                         property_key=row.property_key, auto_rules=row.auto_rules)
        for row in source.screener_questions.order_by("position")])


# Answers (the preview and the Rally-hosted screener) -----------------------------------------


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
        number = _number(value)
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
    return _plain(value)


ANSWER_MAX = 5000


def _number(value):
    """A finite number from text (int when whole), or None."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) > Decimal("1e12"):
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def answers_shown(questions, answers):
    """The questions an applicant with these answers walks through, in order (logic applied)."""
    shown, index = [], next_question_index(questions, answers)
    while index is not None:
        shown.append(questions[index])
        index = next_question_index(questions, answers, index)
    return shown


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
            response["number"] = _number(value)
        elif question["type"] == QuestionType.DATE:
            response["date"] = value
        else:
            response["text"] = value
        responses.append(response)
    return responses


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


# Rally-panel auto-qualification (issue 9) ----------------------------------------------------
#
# A question of a Rally-panel study may carry "rules": for choice questions the answers that
# qualify and the answers that disqualify, for number and scale questions the range that
# qualifies (outside it disqualifies). They never apply to User Interviews studies (SPEC Q4):
# `screener_problems(..., rules_allowed=False)` refuses them there, and only the panel's
# hosted screener reads them. An applicant is Unqualified when any answer disqualifies,
# qualified when every rule they met qualified them (and at least one did), and otherwise
# left for a person to review.

RULES_UI_REFUSED = ("automatic qualification is for Rally-panel studies only: every User "
                    "Interviews applicant is reviewed by a person.")


class Qualification(StrEnum):
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    REVIEW = "review"


@dataclass(frozen=True)
class QualificationResult:
    outcome: Qualification
    reasons: tuple = ()  # the answers that decided, in words


def _rule_problems(questions, index, *, rules_allowed):
    question = questions[index]
    rules = question.get("rules") or {}
    if not rules:
        return []
    name = _name(questions, index)
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


def _rules_from_form(kind, data, options):
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
            number = _number(text)
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
            number = _number(value)
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

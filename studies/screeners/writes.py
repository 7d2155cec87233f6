"""Editing a screener (SPEC Q1 to Q5): every write builds the whole new screener, checks it
with `screener_problems` and refuses, changing nothing, when anything is wrong.

Answers NEVER qualify or disqualify a User Interviews applicant (SPEC Q4): every applicant
is reviewed by a person, and nothing here decides an applicant's status.
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from rally.models import PropertyDefinition
from rally.permissions import Permission
from rally.services import activity_record, outbox_enqueue
from studies.locking import study_lock, study_touch
from studies.models import (
    CHOICE_TYPES,
    SCALE_MAXIMA,
    SKIP_TYPES,
    QuestionType,
    ScreenerQuestion,
    Status,
)
from studies.screeners.qualification import qualification_rules_from_form
from studies.screeners.questions import (
    HELP_MAX,
    OPTION_MAX,
    TEXT_MAX,
    plain_text,
    question_from_row,
    question_name,
    question_row_fields,
    short,
)
from studies.screeners.rules import ScreenerProblem, screener_problems
from studies.screeners.versions import screener_draft, screener_version_create


def _properties(workspace_id):
    return {definition.key: definition for definition in
            PropertyDefinition.objects.filter(workspace_id=workspace_id)}


def _locked_study(membership, study):
    if not membership.allows(Permission.EDIT_STUDY):
        raise PermissionDenied
    study = study_lock(membership=membership, study=study)
    if study.status == Status.CLOSED:
        raise ValidationError("The study is closed: its screener can no longer change.")
    return study


def _rows(study):
    return list(study.screener_questions.order_by("position"))


def _locked_screener(membership, study):
    """The study locked for a screener edit, its question rows in order, and their questions."""
    study = _locked_study(membership, study)
    rows = _rows(study)
    return study, rows, [question_from_row(row) for row in rows]


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
        fields = {**question_row_fields(question), "position": position}
        row = by_uid.pop(question["uid"], None)
        if row is None:
            ScreenerQuestion.objects.create(study=study, uid=question["uid"], **fields)
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
    if by_uid:
        ScreenerQuestion.objects.filter(pk__in=[row.pk for row in by_uid.values()]).delete()
    study_touch(study, [])
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
        "text": " ".join(plain_text(data.get("text")).split())[:TEXT_MAX + 1],
        "help": plain_text(data.get("help")).strip()[:HELP_MAX + 1],
        "required": bool(data.get("required")),
        "options": [],
        "logic": {"skip": {}, "showIf": None},
        "property": plain_text(data.get("property")).strip()[:60],
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
            label = " ".join(plain_text(label).split())
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
    rules, rule_error = qualification_rules_from_form(kind, data, question["options"])
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
    study, rows, questions = _locked_screener(membership, study)
    question = _clean_or_refuse(data, questions)
    questions.append(question)
    _save(membership, study, rows, questions, action="screener.question_added",
          summary=f"Added the screener question “{short(question['text'])}” to "
                  f"“{study.name}”", data={"question": question["uid"]}, field="screener")
    return question["uid"]


@transaction.atomic(durable=True)
def screener_question_update(*, membership, study, question_uid, data):
    """Change one question (text, type, options, logic, mapping) as its form describes."""
    study, rows, questions = _locked_screener(membership, study)
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
    study, rows, questions = _locked_screener(membership, study)
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
            found.append(f"{question_name(questions, index)} skips to it")
        if condition.get("questionUid") == question_uid:
            found.append(f"{question_name(questions, index)} is shown only after its answer")
    return found


@transaction.atomic(durable=True)
def screener_question_delete(*, membership, study, question_uid):
    """Remove a question. Refused, with the reason, while other questions' logic uses it."""
    study, rows, questions = _locked_screener(membership, study)
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
    study, rows, questions = _locked_screener(membership, study)
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
    study, rows, questions = _locked_screener(membership, study)
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

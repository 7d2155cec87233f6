"""The Screener tab: the builder (every action a plain form post, htmx swaps the builder)
and the preview an applicant would walk through. Thin: studies.screeners decides."""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rally.models import PropertyDefinition, PropertyType
from rally.permissions import Permission
from studies import pages, selectors
from studies.models import CHOICE_TYPES, SCALE_MAXIMA, SKIP_TYPES, QuestionType
from studies.screeners import writes
from studies.screeners.preview import screener_step
from studies.screeners.questions import END, compatible_property_types, short
from studies.screeners.rules import ScreenerProblem, screener_problems
from studies.screeners.versions import screener_draft

TEMPLATE = "studies/screener.html"


def _option_label(question, option_uid):
    return next((option["label"] for option in question["options"]
                 if option["uid"] == option_uid), "?")


def _editor(questions, index, question, properties):
    """What one question's card and form show (logic in words, the choices each select offers)."""
    positions = {q["uid"]: i for i, q in enumerate(questions)}
    names = {q["uid"]: f"{i + 1}. {short(q['text'], 50)}" for i, q in enumerate(questions)}
    skips = question["logic"].get("skip") or {}
    condition = question["logic"].get("showIf") or {}
    summary = []
    for option in question["options"]:
        target = skips.get(option["uid"])
        if target:
            where = "the end" if target == END else f"question {names.get(target, '(deleted)')}"
            summary.append(f"If “{short(option['label'], 30)}”, skip to {where}")
    if condition:
        source = questions[positions[condition["questionUid"]]] \
            if condition.get("questionUid") in positions else None
        if source is not None:
            answers = " or ".join(f"“{short(_option_label(source, uid), 30)}”"
                                  for uid in condition.get("answerUids") or [])
            summary.append(f"Shown only when question {positions[source['uid']] + 1} is "
                           f"{answers}")
    rules = question.get("rules") or {}
    summary.extend(_rules_in_words(question, rules))
    compatible = compatible_property_types(question)
    mapped = properties.get(question.get("property") or "")
    return {
        # Rally-panel studies only (the template hides these for User Interviews studies).
        "can_rule": (question["type"] in CHOICE_TYPES and bool(question["options"]))
        or question["type"] in (QuestionType.NUMBER, QuestionType.SCALE),
        "rule_rows": [{"option": option,
                       "rule": "qualify" if option["uid"] in (rules.get("qualify") or [])
                       else "disqualify" if option["uid"] in (rules.get("disqualify") or [])
                       else ""} for option in question["options"]],
        "rule_min": rules.get("min", ""),
        "rule_max": rules.get("max", ""),
        "q": question,
        "number": index + 1,
        "type_label": QuestionType(question["type"]).label
        if question["type"] in QuestionType.values else question["type"],
        "is_choice": question["type"] in CHOICE_TYPES,
        "can_skip": question["type"] in SKIP_TYPES,
        "skip_rows": [{"option": option, "target": skips.get(option["uid"], "")}
                      for option in question["options"]],
        "later": [(q["uid"], names[q["uid"]]) for q in questions[index + 1:]],
        "earlier_choices": [
            {"uid": q["uid"], "name": names[q["uid"]],
             "options": [{"uid": option["uid"], "label": option["label"],
                          "checked": condition.get("questionUid") == q["uid"]
                          and option["uid"] in (condition.get("answerUids") or [])}
                         for option in q["options"]]}
            for q in questions[:index] if q["type"] in CHOICE_TYPES],
        "summary": summary,
        "property_label": mapped.label if mapped else "",
        "property_choices": [
            {"key": key, "label": f"{definition.label} ({PropertyType(definition.type).label})",
             "note": _property_note(question, definition, compatible)}
            for key, definition in properties.items()],
        "first": index == 0,
        "last": index == len(questions) - 1,
    }


def _property_note(question, definition, compatible):
    """What the property select adds after a property this question can't fill (or "")."""
    if definition.type in compatible:
        return ""
    if definition.type == PropertyType.BOOLEAN and question["type"] in (
            QuestionType.SINGLE_CHOICE, QuestionType.DROPDOWN):
        return "fits when the options are Yes and No"
    return "doesn't fit this type"


def _rules_in_words(question, rules):
    """The card's summary lines for a panel question's qualification rules."""
    if question["type"] in CHOICE_TYPES:
        words = []
        for key, verb in (("qualify", "qualifies"), ("disqualify", "disqualifies")):
            chosen = [f"“{short(_option_label(question, uid), 30)}”"
                      for uid in rules.get(key) or []]
            if chosen:
                words.append(f"{' or '.join(chosen)} {verb} automatically")
        return words
    low, high = rules.get("min"), rules.get("max")
    if low is None and high is None:
        return []
    if low is not None and high is not None:
        return [f"Qualifies from {low} to {high}; other answers disqualify"]
    if low is not None:
        return [f"Qualifies from {low} up; lower answers disqualify"]
    return [f"Qualifies up to {high}; higher answers disqualify"]


def _context(request, study, *, editing=None, add=None, notice="", focus=""):
    """editing: (uid, proposed question, {field: message}) of a refused edit; add: (data,
    errors) of a refused "Add question"."""
    properties = {definition.key: definition for definition in
                  PropertyDefinition.objects.filter(workspace_id=study.workspace_id)}
    questions = screener_draft(study)
    cards = []
    for index, question in enumerate(questions):
        errors = {}
        if editing and editing[0] == question["uid"]:
            shown = list(questions)
            shown[index] = {**editing[1], "uid": question["uid"]}
            card = _editor(shown, index, shown[index], properties)
            errors = editing[2]
            card["open"] = True
        else:
            card = _editor(questions, index, question, properties)
        card["errors"] = errors
        cards.append(card)
    add_data, add_errors = add or ({"required": True, "type": QuestionType.SHORT_TEXT}, {})
    return {
        "questions": cards,
        "problems": screener_problems(questions, properties=properties,
                                                rules_allowed=not study.is_user_interviews),
        "versions": selectors.screener_versions(study),
        "question_types": QuestionType.choices,
        "scale_maxima": SCALE_MAXIMA,
        "add_data": add_data,
        "add_errors": add_errors,
        "can_edit_screener": pages.study_editable(request.membership, study),
        "notice": notice,
        "focus": focus,
        "end": END,
        "is_ui": study.is_user_interviews,
    }


def _page(request, study, status=200, **kwargs):
    context = {**pages.study_page_context(request, study, "screener"),
               **_context(request, study, **kwargs)}
    if request.htmx:
        # htmx swaps only 2xx answers: a refusal comes back as 200 with its messages shown.
        return render(request, f"{TEMPLATE}#builder", context)
    return render(request, TEMPLATE, context, status=status)


@login_required
def study_screener(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    return _page(request, study)


def _form_data(post):
    """The question a builder form posted, in the words of writes.question_clean."""
    uids = post.getlist("option_uid")
    labels = post.getlist("option_label")
    options = list(zip(uids, labels, strict=False))
    options += [("", line) for line in post.get("options_text", "").splitlines()]
    skip = {key.removeprefix("skip:"): value for key, value in post.items()
            if key.startswith("skip:")}
    return {
        "text": post.get("text", ""), "help": post.get("help", ""),
        "type": post.get("type", ""), "required": post.get("required") in ("on", "true", "1"),
        "options": options, "scale_max": post.get("scale_max", ""),
        "property": post.get("property", ""), "skip": skip,
        "show_if": post.getlist("show_if"),
        # Rally-panel qualification rules: "rule:<option uid>" = qualify | disqualify.
        "qualify": [key.removeprefix("rule:") for key, value in post.items()
                    if key.startswith("rule:") and value == "qualify"],
        "disqualify": [key.removeprefix("rule:") for key, value in post.items()
                       if key.startswith("rule:") and value == "disqualify"],
        "rule_min": post.get("rule_min", ""), "rule_max": post.get("rule_max", ""),
    }


def _errors_of(error):
    if hasattr(error, "error_dict"):
        return {field: " ".join(messages_) for field, messages_ in error.message_dict.items()}
    return {"screener": " ".join(error.messages)}


def _after(request, study, notice, focus=""):
    if request.htmx:
        return _page(request, study, notice=notice, focus=focus)
    messages.success(request, notice)
    return redirect("studies:study_screener", study_id=study.id)


def _with_refusal(request, study, refusal, status=400):
    context = {**pages.study_page_context(request, study, "screener"),
               **_context(request, study, focus="screener-refusal"), "refusal": refusal}
    if request.htmx:
        return render(request, f"{TEMPLATE}#builder", context)
    return render(request, TEMPLATE, context, status=status)


def _edit_post(request, study_id):
    return selectors.get_study_for_user(request.membership, study_id,
                                        permission=Permission.EDIT_STUDY)


@login_required
@require_POST
def screener_question_add(request, study_id):
    study = _edit_post(request, study_id)
    data = _form_data(request.POST)
    try:
        writes.screener_question_add(membership=request.membership, study=study, data=data)
    except ValidationError as error:
        shown = {**data, "options_text": request.POST.get("options_text", "")}
        return _page(request, study, status=400, add=(shown, _errors_of(error)),
                     focus="add-error-summary")
    return _after(request, study, f"Added “{short(data['text'])}”.", focus="add-text")


@login_required
@require_POST
def screener_question_update(request, study_id, question_uid):
    study = _edit_post(request, study_id)
    data = _form_data(request.POST)
    try:
        writes.screener_question_update(membership=request.membership, study=study,
                                           question_uid=question_uid, data=data)
    except ValidationError as error:
        questions = screener_draft(study)
        existing = next((q for q in questions if q["uid"] == str(question_uid)), None)
        if existing is None:
            return _with_refusal(request, study, " ".join(error.messages))
        proposed, _ = writes.question_clean(data=data, existing=existing)
        return _page(request, study, status=400,
                     editing=(existing["uid"], proposed, _errors_of(error)),
                     focus=f"q-{existing['uid']}-errors")
    return _after(request, study, f"Saved “{short(data['text'])}”.",
                  focus=f"q-{question_uid}-heading")


def _action(request, study_id, run, notice, focus=""):
    study = _edit_post(request, study_id)
    try:
        run(study)
    except ValidationError as error:
        return _with_refusal(request, study, " ".join(error.messages))
    return _after(request, study, notice, focus)


def _question_text(study, question_uid):
    row = study.screener_questions.filter(uid=question_uid).values_list("text", flat=True).first()
    return short(row or "the question")


@login_required
@require_POST
def screener_question_duplicate(request, study_id, question_uid):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    text = _question_text(study, question_uid)
    return _action(request, study_id, lambda s: writes.screener_question_duplicate(
        membership=request.membership, study=s, question_uid=question_uid),
        f"Duplicated “{text}”.")


@login_required
@require_POST
def screener_question_delete(request, study_id, question_uid):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    text = _question_text(study, question_uid)
    return _action(request, study_id, lambda s: writes.screener_question_delete(
        membership=request.membership, study=s, question_uid=question_uid),
        f"Deleted “{text}”.", focus="add-text")


@login_required
@require_POST
def screener_question_move(request, study_id, question_uid):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    text = _question_text(study, question_uid)
    direction = request.POST.get("direction", "")
    return _action(request, study_id, lambda s: writes.screener_question_move(
        membership=request.membership, study=s, question_uid=question_uid,
        direction=direction), f"Moved “{text}” {direction}.",
        focus=f"move-{direction}-{question_uid}")


@login_required
@require_POST
def screener_reorder(request, study_id):
    order = request.POST.getlist("order")
    return _action(request, study_id, lambda s: writes.screener_reorder(
        membership=request.membership, study=s, order=order), "Saved the new order.")


@login_required
@require_POST
def screener_check(request, study_id):
    """The Checks panel for a question form as it is being edited (htmx; nothing saved)."""
    study = _edit_post(request, study_id)
    question_uid = request.POST.get("question_uid") or None
    try:
        problems = writes.screener_check_change(study=study, data=_form_data(request.POST),
                                                   question_uid=question_uid)
    except ValidationError as error:
        problems = [ScreenerProblem(None, message) for message in error.messages]
    draft = screener_draft(study)
    return render(request, f"{TEMPLATE}#checks", {
        "study": study, "problems": problems, "questions": draft, "checking": True})


# Preview -----------------------------------------------------------------------------------


def _shown_answers(questions, answers):
    shown = []
    for question in questions:
        value = answers.get(question["uid"])
        if value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(_option_label(question, uid) for uid in value)
        shown.append({"text": question["text"], "answer": value})
    return shown


@login_required
@require_http_methods(["GET", "POST"])
def screener_preview(request, study_id):
    """The screener as an applicant walks through it, one question at a time, logic applied.

    Nothing is saved: earlier answers travel in hidden fields.
    """
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    questions = screener_draft(study)
    step = screener_step(questions, request.POST)
    context = {
        **pages.study_page_context(request, study, "screener"),
        **step.form(),
        "number": (step.index + 1) if step.index is not None else None,
        "total": len(questions),
        "answers": _shown_answers(questions, step.answers),
        "empty": not questions,
    }
    template = "studies/screener_preview.html"
    if request.htmx:
        return render(request, f"{template}#step", context)
    return render(request, template, context, status=400 if step.error else 200)

"""The Test tab of Unmoderated Test studies (SPEC T1) and the page participants take the test
from. Thin: studies.unmoderated decides; every action is a plain form post, htmx swaps the
builder region."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from rally.permissions import Permission
from studies import pages, selectors, unmoderated
from studies.models import Status, Study, StudyType

TEMPLATE = "studies/study_test.html"


def _unmoderated(study):
    """The Test tab exists only on Unmoderated Test studies: 404 on any other."""
    if not unmoderated.study_is_unmoderated(study):
        raise Http404
    return study


def _errors_of(error):
    if hasattr(error, "error_dict"):
        return {field: " ".join(texts) for field, texts in error.message_dict.items()}
    return {"form": " ".join(error.messages)}


def _page(request, study, *, status=200, add=None, editing=None, url=None, notice="",
          focus=""):
    """add: (data, errors) of a refused "Add task"; editing: (task id, data, errors) of a
    refused edit; url: (value, errors) of a refused "Save test URL"."""
    tasks = unmoderated.test_tasks_of(study)
    add_data, add_errors = add or ({}, {})
    url_value, url_errors = url or (study.test_url, {})
    cards = []
    for index, task in enumerate(tasks):
        card = {"task": task, "number": index + 1, "first": index == 0,
                "last": index == len(tasks) - 1, "data": {"title": task.title,
                                                          "instructions": task.instructions},
                "errors": {}, "open": False,
                "focus": {f"task-{task.pk}-heading": "heading", f"move-up-{task.pk}": "up",
                          f"move-down-{task.pk}": "down"}.get(focus, "")}
        if editing and str(editing[0]) == str(task.pk):
            card.update(data=editing[1], errors=editing[2], open=True)
        cards.append(card)
    context = {
        **pages.study_page_context(request, study, "test"),
        "cards": cards,
        "add_data": add_data,
        "add_errors": add_errors,
        "url_value": url_value,
        "url_errors": url_errors,
        "can_edit_test": pages.study_editable(request.membership, study),
        "task_url": unmoderated.study_task_url(study),
        "notice": notice,
        "focus": focus,
        "title_max": unmoderated.TITLE_MAX,
        "instructions_max": unmoderated.INSTRUCTIONS_MAX,
    }
    if request.htmx:
        # htmx swaps only 2xx answers: a refusal comes back as 200 with its messages shown.
        return render(request, f"{TEMPLATE}#builder", context)
    return render(request, TEMPLATE, context, status=status)


def _after(request, study, notice, focus=""):
    if request.htmx:
        return _page(request, study, notice=notice, focus=focus)
    messages.success(request, notice)
    return redirect("studies:study_test", study_id=study.id)


def _refused(request, study, error):
    """A refusal of the whole request (closed study, not a test): said at the top."""
    return _page(request, study, status=400, add=({}, {"form": " ".join(error.messages)}),
                 focus="add-error-summary")


def _edit_post(request, study_id):
    return _unmoderated(selectors.get_study_for_user(request.membership, study_id,
                                                     permission=Permission.EDIT_STUDY))


@login_required
@require_GET
def study_test(request, study_id):
    return _page(request, _unmoderated(selectors.get_study_for_user(
        request.membership, study_id, permission=Permission.VIEW)))


@login_required
@require_POST
def test_task_add(request, study_id):
    study = _edit_post(request, study_id)
    data = {"title": request.POST.get("title", ""),
            "instructions": request.POST.get("instructions", "")}
    try:
        task = unmoderated.test_task_add(membership=request.membership, study=study, **data)
    except ValidationError as error:
        return _page(request, study, status=400, add=(data, _errors_of(error)),
                     focus="add-error-summary")
    return _after(request, study, f"Added the task “{task.title}”.", focus="add-title")


@login_required
@require_POST
def test_task_update(request, study_id, task_id):
    study = _edit_post(request, study_id)
    data = {"title": request.POST.get("title", ""),
            "instructions": request.POST.get("instructions", "")}
    try:
        task = unmoderated.test_task_update(membership=request.membership, study=study,
                                            task_id=task_id, **data)
    except ValidationError as error:
        return _page(request, study, status=400, editing=(task_id, data, _errors_of(error)),
                     focus=f"task-{task_id}-error-summary")
    return _after(request, study, f"Saved the task “{task.title}”.",
                  focus=f"task-{task.pk}-heading")


@login_required
@require_POST
def test_task_remove(request, study_id, task_id):
    study = _edit_post(request, study_id)
    try:
        unmoderated.test_task_remove(membership=request.membership, study=study,
                                     task_id=task_id)
    except ValidationError as error:
        return _refused(request, study, error)
    return _after(request, study, "Removed the task.", focus="tasks-heading")


@login_required
@require_POST
def test_task_move(request, study_id, task_id):
    study = _edit_post(request, study_id)
    direction = request.POST.get("direction", "")
    try:
        task = unmoderated.test_task_move(membership=request.membership, study=study,
                                          task_id=task_id, direction=direction)
    except ValidationError as error:
        return _refused(request, study, error)
    return _after(request, study, f"Moved the task “{task.title}” {direction}.",
                  focus=f"move-{direction}-{task.pk}")


@login_required
@require_POST
def test_url_save(request, study_id):
    study = _edit_post(request, study_id)
    value = request.POST.get("test_url", "")
    try:
        study = unmoderated.study_set_test_url(membership=request.membership, study=study,
                                               url=value)
    except ValidationError as error:
        return _page(request, study, status=400, url=(value, _errors_of(error)),
                     focus="url-error-summary")
    notice = ("Saved the external test URL." if study.test_url
              else "Participants take the test on Rally's task page.")
    return _after(request, study, notice, focus="id_test_url")


# The page participants take the test from ---------------------------------------------------


@require_GET
def test_take(request, study_id):
    """Rally's own test page (UI's `taskUrl` when the study has no external test): the tasks
    in order. Participants finish by submitting at User Interviews, which tells Rally."""
    study = (Study.objects.filter(pk=study_id, study_type=StudyType.UNMODERATED_TEST,
                                  is_template=False)
             .exclude(status=Status.DRAFT).first())
    if study is None:
        raise Http404
    response = render(request, "studies/test_take.html", {
        "study": study, "tasks": unmoderated.test_tasks_of(study),
        "closed": study.status == Status.CLOSED})
    response["X-Robots-Tag"] = "noindex"
    return response

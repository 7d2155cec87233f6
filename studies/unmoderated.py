"""Unmoderated Test studies (SPEC T1): the ordered task list, the optional external test URL,
and the test link User Interviews gives invited participants.

Tasks stay editable after recruitment starts (participants read them when they take the
test), and so does the URL; every change writes an activity entry. When recruitment has
started, a URL change is also sent to User Interviews (an `update_recruit` outbox row).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.urls import reverse

from rally import clock
from rally.permissions import Permission, require
from rally.services import activity_record, outbox_enqueue
from studies.models import Status, Study, StudyType, TestTask

TITLE_MAX = 200
INSTRUCTIONS_MAX = 5000
URL_MAX = 1000
TASKS_MAX = 50
NOT_A_TEST = "Tasks belong to Unmoderated Test studies only."
CLOSED_STUDY = "The study is closed: its test can no longer change."


def study_is_unmoderated(study):
    return study.study_type == StudyType.UNMODERATED_TEST


def test_tasks_of(study):
    """The study's tasks in the order participants take them."""
    return list(TestTask.objects.filter(study=study).order_by("position"))


def study_task_url(study):
    """The link invited participants follow (UI's `taskUrl`): the external test when the
    study has one, else Rally's own page listing the tasks."""
    if study.test_url:
        return study.test_url
    path = reverse("studies:test_take", kwargs={"study_id": study.id})
    return settings.RALLY_BASE_URL.rstrip("/") + path


# Validation ---------------------------------------------------------------------------------


def parse_test_url(value):
    """An https URL (or "" for none), or a ValidationError a person understands."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) > URL_MAX:
        raise ValidationError(f"The test URL can be at most {URL_MAX:,} characters long.")
    if not text.lower().startswith("https://"):
        raise ValidationError("Enter the test URL starting with https:// — participants "
                              "only get secure links.")
    try:
        URLValidator(schemes=["https"])(text)
    except ValidationError:
        raise ValidationError("Enter a complete web address, like "
                              "https://maze.co/t/your-test.") from None
    return text


def _clean_task(title, instructions):
    title = (title or "").strip()
    instructions = (instructions or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Enter a task title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"The task title can be at most {TITLE_MAX} characters long."
    if len(instructions) > INSTRUCTIONS_MAX:
        errors["instructions"] = (f"The instructions can be at most {INSTRUCTIONS_MAX:,} "
                                  f"characters long.")
    if errors:
        raise ValidationError(errors)
    return title, instructions


# Writes -------------------------------------------------------------------------------------


def _study_for_edit(membership, study):
    """The study, locked, if it is this workspace's and this person may change its test."""
    locked = Study.objects.select_for_update(of=("self",)).filter(
        pk=study.pk, workspace_id=membership.workspace_id).select_related("workspace").first()
    if locked is None:
        raise Http404
    require(membership, Permission.EDIT_STUDY)
    if locked.status == Status.CLOSED:
        raise ValidationError(CLOSED_STUDY)
    if not study_is_unmoderated(locked):
        raise ValidationError(NOT_A_TEST)
    return locked


def _task_of(study, task_id):
    task = TestTask.objects.filter(study=study, pk=task_id).first()
    if task is None:
        raise Http404
    return task


def _touched(study):
    study.updated_at = clock.now()
    study.save(update_fields=["updated_at"])


def _record(membership, study, action, summary, data=None):
    activity_record(workspace=study.workspace, actor=membership.user, action=action,
                    summary=summary, study_id=study.id, data=data or {})


@transaction.atomic(durable=True)
def test_task_add(*, membership, study, title, instructions=""):
    """Add a task at the end of the list."""
    study = _study_for_edit(membership, study)
    title, instructions = _clean_task(title, instructions)
    if TestTask.objects.filter(study=study).count() >= TASKS_MAX:
        raise ValidationError(f"A test can have at most {TASKS_MAX} tasks.")
    last = TestTask.objects.filter(study=study).aggregate(last=Max("position"))["last"]
    now = clock.now()
    task = TestTask.objects.create(study=study, position=0 if last is None else last + 1,
                                   title=title, instructions=instructions,
                                   created_at=now, updated_at=now)
    _touched(study)
    _record(membership, study, "study.test_task_added",
            f"Added the task “{title}” to the test of “{study.name}”", {"task": str(task.pk)})
    return task


@transaction.atomic(durable=True)
def test_task_update(*, membership, study, task_id, title, instructions=""):
    study = _study_for_edit(membership, study)
    task = _task_of(study, task_id)
    title, instructions = _clean_task(title, instructions)
    if (task.title, task.instructions) == (title, instructions):
        return task
    changed = [label for label, before, after in (("title", task.title, title),
                                                  ("instructions", task.instructions,
                                                   instructions)) if before != after]
    old_title = task.title
    task.title, task.instructions, task.updated_at = title, instructions, clock.now()
    task.save(update_fields=["title", "instructions", "updated_at"])
    _touched(study)
    _record(membership, study, "study.test_task_updated",
            f"Updated the {' and '.join(changed)} of the task “{old_title}” in the test of "
            f"“{study.name}”", {"task": str(task.pk), "fields": changed})
    return task


@transaction.atomic(durable=True)
def test_task_remove(*, membership, study, task_id):
    study = _study_for_edit(membership, study)
    task = _task_of(study, task_id)
    task.delete()
    # Close the gap so positions stay 0..n-1 (the unique constraint is checked at commit).
    for position, remaining in enumerate(TestTask.objects.filter(study=study)
                                         .order_by("position")):
        if remaining.position != position:
            remaining.position = position
            remaining.save(update_fields=["position"])
    _touched(study)
    _record(membership, study, "study.test_task_removed",
            f"Removed the task “{task.title}” from the test of “{study.name}”",
            {"task": str(task_id)})


@transaction.atomic(durable=True)
def test_task_move(*, membership, study, task_id, direction):
    """"Move up" / "Move down": swap with the neighbouring task. At an end, nothing moves."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a task up or down.")
    study = _study_for_edit(membership, study)
    tasks = list(TestTask.objects.filter(study=study).order_by("position"))
    index = next((i for i, task in enumerate(tasks) if str(task.pk) == str(task_id)), None)
    if index is None:
        raise Http404
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(tasks):
        return tasks[index]
    task, neighbour = tasks[index], tasks[other]
    task.position, neighbour.position = neighbour.position, task.position
    now = clock.now()
    for row in (task, neighbour):
        row.updated_at = now
        row.save(update_fields=["position", "updated_at"])
    _touched(study)
    _record(membership, study, "study.test_task_moved",
            f"Moved the task “{task.title}” {direction} to position {other + 1} in the test "
            f"of “{study.name}”", {"task": str(task.pk), "position": other + 1})
    return task


@transaction.atomic(durable=True)
def study_set_test_url(*, membership, study, url):
    """Set or clear the external test URL. After recruitment started, UI gets the new link
    (URL changes after start are allowed: only new invitations carry it)."""
    study = _study_for_edit(membership, study)
    try:
        url = parse_test_url(url)
    except ValidationError as error:
        raise ValidationError({"test_url": error.messages[0]}) from None
    if url == study.test_url:
        return study
    before = study.test_url
    study.test_url = url
    study.updated_at = clock.now()
    study.save(update_fields=["test_url", "updated_at"])
    if url and before:
        summary = f"Changed the external test URL of “{study.name}” to {url}"
    elif url:
        summary = f"Set the external test URL of “{study.name}” to {url}"
    else:
        summary = f"Removed the external test URL of “{study.name}”: participants use Rally's page"
    _record(membership, study, "study.test_url_changed", summary,
            {"from": before, "to": url})
    if study.is_user_interviews and study.is_recruitment_locked:
        outbox_enqueue(workspace=study.workspace, operation="update_recruit",
                       subject=f"{study.id}:task_url:{study.updated_at.isoformat()}",
                       payload={"study_id": str(study.id), "fields": ["task_url"]},
                       study_id=study.id)
    return study


def test_tasks_copy(*, source, target):
    """Copy the test (tasks and URL) onto a study made from `source`; part of
    `recruitment.workflows.study_copy`, so templates and copies carry it."""
    now = clock.now()
    TestTask.objects.bulk_create([
        TestTask(study=target, position=task.position, title=task.title,
                 instructions=task.instructions, created_at=now, updated_at=now)
        for task in TestTask.objects.filter(study=source).order_by("position")])
    if source.test_url != target.test_url:
        target.test_url = source.test_url
        target.save(update_fields=["test_url"])

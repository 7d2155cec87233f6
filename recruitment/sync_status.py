"""Sync health on the study overview (SPEC R8): when the study last synced with User
Interviews, and every pending or failed operation with "Retry now"."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from rally.permissions import Permission
from recruitment import outbox
from recruitment.operations import label
from recruitment.selectors import recruitment_of
from studies.selectors import get_study_for_user

TEMPLATE = "recruitment/sync_status.html"
IN_PROGRESS_STATES = ("starting", "pending_review")


def sync_status_context(*, membership, study):
    """What the panel shows, or None when the study has nothing to do with UI yet."""
    recruitment = recruitment_of(study)
    operations = outbox.outbox_operations_for_study(workspace=study.workspace,
                                                    study_id=study.pk)
    if recruitment is None and not operations:
        return None
    for operation in operations:
        operation.label = label(operation.operation)
    return {
        "recruitment": recruitment,
        "operations": operations,
        "has_pending": any(op.status == "pending" for op in operations),
        # Keeps refreshing through UI's review, so it says what the stepper says.
        "in_progress": recruitment is not None and recruitment.state in IN_PROGRESS_STATES,
        "can_retry": membership is not None and membership.allows(Permission.EDIT_STUDY),
    }


def overview_panel(request, study):
    """Study page overview panel: the sync panel on the overview of a UI study."""
    if not study.is_user_interviews:
        return None
    context = sync_status_context(membership=getattr(request, "membership", None),
                                  study=study)
    if context is None:
        return None
    return TEMPLATE, context


def _panel(request, study):
    context = sync_status_context(membership=request.membership, study=study) or {
        "recruitment": None, "operations": [], "has_pending": False, "in_progress": False,
        "can_retry": False}
    return render(request, TEMPLATE, {"study": study, **context})


@login_required
@require_GET
def sync_status(request, study_id):
    """The panel alone (htmx refreshes it while operations are pending)."""
    return _panel(request, get_study_for_user(request.membership, study_id,
                                              permission=Permission.VIEW))


@login_required
@require_POST
def outbox_retry(request, study_id, operation_id):
    """"Retry now" on one pending or failed operation of the study."""
    study = get_study_for_user(request.membership, study_id, permission=Permission.EDIT_STUDY)
    outbox.outbox_retry_now(membership=request.membership, operation_id=operation_id)
    if request.htmx:
        return _panel(request, study)
    return redirect("studies:study_overview", study_id=study.id)

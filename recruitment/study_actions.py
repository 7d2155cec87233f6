"""Study forms that start a workflow (recruitment.workflows): "Change status", "Save as
template", "Duplicate study", "New study" and the plan's "Save". The pages are the studies
app's templates; the writes span apps, so the views live in the top layer. Thin: workflows
decide.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from rally.permissions import Permission
from rally.selectors import require_permission
from recruitment import workflows
from studies import lifecycle, pages, selectors
from studies import services as studies
from studies.forms import StudyCreateForm
from studies.models import SURVEY_SOURCE_REASON, Status, StudyType
from studies.views import COPY_KINDS, plan_form, plan_page


def _render_study(request, study, template, context, status=200):
    base = pages.study_page_context(request, study, "overview")
    return render(request, template, {**base, **context}, status=status)


# "New study" --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def study_create(request):
    """"New study", from scratch (studies) or from a template (`workflows.study_copy`)."""
    membership = require_permission(request.membership, Permission.EDIT_STUDY)
    templates = list(selectors.templates_for_workspace(membership.workspace))
    start_from = request.GET.get("template", "scratch")
    if request.GET.get("start") == "template" and templates:
        start_from = str(templates[0].pk)
    form = StudyCreateForm(request.POST or None, templates=templates,
                           initial={"start_from": start_from})
    if request.method == "POST" and form.is_valid():
        try:
            if form.template is None:
                study = studies.study_create(
                    membership=membership, name=form.cleaned_data["name"],
                    study_type=form.cleaned_data["study_type"],
                    source=form.cleaned_data["source"])
            else:
                study = workflows.study_copy(
                    membership=membership, study=form.template, name=form.cleaned_data["name"],
                    kind=workflows.CopyKind.FROM_TEMPLATE)
        except ValidationError as error:
            form.apply_service_errors(error)
        else:
            messages.success(request, f"Created “{study.name}”. Fill in the plan next.")
            return redirect("studies:study_plan", study_id=study.id)
    chosen_type = (form.data.get("study_type") if form.is_bound
                   else request.GET.get("study_type")) or StudyType.INTERVIEW
    chosen_start = (form.data.get("start_from") if form.is_bound
                    else request.GET.get("start_from")) or start_from
    # With a template the type and source are the template's: the page shows them, disabled.
    context = {"form": form, "survey_chosen": chosen_type == StudyType.SURVEY,
               "survey_reason": SURVEY_SOURCE_REASON,
               "chosen_template": form.templates.get(chosen_start)}
    if request.htmx and request.method == "GET":
        region = "settings" if request.htmx.target == "scratch-settings" else "source"
        return render(request, f"studies/study_new.html#{region}", context)
    return render(request, "studies/study_new.html", context,
                  status=400 if form.errors else 200)


# "Change status" ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def study_status(request, study_id):
    """"Change status": POST moves the study; GET asks to confirm closing (no-JS path)."""
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.VIEW)
    target = request.POST.get("status") or request.GET.get("status") or ""
    if target not in Status.values:
        raise Http404
    if request.method == "GET":
        if not lifecycle.transition_allowed(membership=request.membership, study=study,
                                            to=target):
            raise PermissionDenied
        return _render_study(request, study, "studies/study_status_confirm.html",
                             {"target": Status(target)})
    try:
        workflows.study_status_change(membership=request.membership, study=study, to=target)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{study.name}” is now {Status(target).label}.")
    destination = reverse("studies:study_overview", kwargs={"study_id": study.id})
    if request.htmx:
        return HttpResponseClientRedirect(destination)
    return redirect(destination)


# "Save as template" and "Duplicate study" ---------------------------------------------------


def _study_copy(request, study_id, key):
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.EDIT_STUDY)
    if study.is_template:
        raise Http404
    kind = COPY_KINDS[key]
    name, error = kind["default_name"](study), ""
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        if not name:
            error = f"Enter the {kind['label'].lower()}."
        else:
            try:
                copy = workflows.study_copy(membership=request.membership, study=study,
                                            kind=key, name=name)
            except ValidationError as problem:
                error = " ".join(problem.messages)
            else:
                messages.success(request, kind["done"].format(name=copy.name, source=study.name))
                return redirect("studies:study_overview", study_id=copy.id)
    return _render_study(request, study, "studies/study_copy.html", {
        "kind": kind, "name": name, "error": error,
        "action": reverse(kind["url_name"], kwargs={"study_id": study.id}),
    }, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def study_save_as_template(request, study_id):
    return _study_copy(request, study_id, workflows.CopyKind.TEMPLATE.value)


@login_required
@require_http_methods(["GET", "POST"])
def study_duplicate(request, study_id):
    return _study_copy(request, study_id, workflows.CopyKind.DUPLICATE.value)


# Plan ---------------------------------------------------------------------------------------


@login_required
@require_POST
def study_plan_save(request, study_id):
    """The plan tab's "Save": `workflows.study_plan_update`, so a new participation limit
    also opens or closes intake at UI (SPEC R6). Refused, the tab shows why (400)."""
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.EDIT_STUDY)
    form = plan_form(request, study, request.POST)
    if form.is_valid():
        try:
            workflows.study_plan_update(membership=request.membership, study=study,
                                        changes=form.changes())
        except ValidationError as error:
            form.apply_service_errors(error)
        else:
            messages.success(request, "Saved the plan.")
            return redirect("studies:study_plan", study_id=study.id)
    return plan_page(request, study, form)

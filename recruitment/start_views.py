"""Pages for starting recruitment (SPEC R1–R2) and the study's money on its overview."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from billing.selectors import budgets_with_figures, study_billing_for
from billing.services import FundsShortError
from rally.permissions import Permission
from recruitment import orchestration, workflows
from recruitment.models import Recruitment
from recruitment.selectors import recruitment_of
from studies.lifecycle import study_on_team
from studies.models import Source, Status, StudyType
from studies.selectors import get_study_for_user

State = Recruitment.State
#: The hand-off's steps as the overview shows them (SPEC R2).
STEPS = [(State.STARTING, "Starting"),
         (State.PENDING_REVIEW, "Waiting for User Interviews review"),
         (State.RECRUITING, "Recruiting")]
IN_PROGRESS = (State.STARTING, State.PENDING_REVIEW)


def _start_context(request, study, *, budget_id=None, error=None, shortfall=None):
    budgets = budgets_with_figures(request.workspace)
    chosen = next((b for b in budgets if str(b.pk) == str(budget_id)), None)
    if chosen is None:
        chosen = max(budgets, key=lambda b: b.figures.available, default=None)
    costs = orchestration.estimated_costs(study)
    if chosen is not None and shortfall is None and chosen.figures.available < costs.total:
        shortfall = costs.total - chosen.figures.available
    return {
        "study": study, "costs": costs, "budgets": budgets, "chosen": chosen,
        "problems": orchestration.start_problems(study), "error": error,
        "last_start": orchestration.last_start_ended(recruitment_of(study)),
        "shortfall": shortfall,
        "can_add_funds": request.membership.allows(Permission.ADD_FUNDS),
        "start_url": reverse("recruitment:start", args=[study.id]),
    }


@login_required
@require_http_methods(["GET", "POST"])
def recruitment_start(request, study_id):
    """"Review & Start": a page without JavaScript, a dialog's body with htmx."""
    study = get_study_for_user(request.membership, study_id,
                               permission=Permission.START_RECRUITMENT)
    if study.study_type == StudyType.SURVEY:  # no recruitment fee: nothing to start at UI
        raise Http404
    budget_id = request.POST.get("budget") or request.GET.get("budget")
    context_args = {"budget_id": budget_id}
    if request.method == "POST":
        try:
            workflows.recruitment_start(membership=request.membership, study_id=study.id,
                                        budget_id=_uuid_or_none(budget_id))
        except FundsShortError as short:
            context_args.update(error=short.messages[0], shortfall=short.shortfall)
        except ValidationError as refusal:
            context_args["error"] = " ".join(refusal.messages)
        else:
            messages.success(request, "Recruitment is starting. Funds are reserved; User "
                                      "Interviews reviews the study next.")
            overview = reverse("studies:study_overview", args=[study.id])
            return HttpResponseClientRedirect(overview) if request.htmx else redirect(overview)
    context = _start_context(request, study, **context_args)
    if request.htmx:
        return render(request, "recruitment/start.html#start_form", context)
    status = 400 if context_args.get("error") else 200
    return render(request, "recruitment/start.html", context, status=status)


@login_required
@require_POST
def recruitment_request_start(request, study_id):
    """"Request start" from the overview's recruitment panel."""
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    try:
        orchestration.recruitment_request_start(membership=request.membership,
                                                study_id=study.id)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, "Start requested. The Admins and the team's Ops Managers "
                                  "were told.")
    overview = reverse("studies:study_overview", args=[study.id])
    return HttpResponseClientRedirect(overview) if request.htmx else redirect(overview)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def money_panel(request, study):
    """The study's recruitment and money on its overview: "Review & Start", the hand-off's
    progress, Reserved / Spent / Unused, and the final billing details once closed."""
    if study.source != Source.USER_INTERVIEWS or study.is_template:
        return None
    return "recruitment/money_panel.html", _money_context(request, study)


def _money_context(request, study):
    membership = request.membership
    on_team = study_on_team(study, membership.user)
    recruitment = recruitment_of(study)
    study.recruitment = recruitment  # start_problems reads it; no second query
    state = recruitment.state if recruitment else State.NOT_STARTED
    closed = study.status == Status.CLOSED
    startable = state in orchestration.STARTABLE and not closed
    can_start = orchestration.can_start(membership=membership, study=study)
    blockers = orchestration.start_problems(study) if startable else []
    return {
        "recruitment": recruitment,
        "state": state,
        "steps": _steps(state),
        "in_progress": state in IN_PROGRESS,
        "last_start": orchestration.last_start_ended(recruitment),
        "show_start": startable and can_start and not blockers,
        "start_blockers": blockers if can_start else [],
        "can_start": can_start,
        # Someone who may not start asks those who may (SPEC N1).
        "may_request_start": startable and not blockers and orchestration.may_request_start(
            membership=membership, study=study),
        "start_requested": (recruitment if recruitment is not None and startable
                            and recruitment.start_requested_at else None),
        "start_refusal": (orchestration.start_refusal_reason(membership=membership,
                                                             study=study)
                          if not can_start else ""),
        "study_closed": closed,
        # Receipts open for Admins and Ops Managers only (SPEC B7): no link others get 403 for.
        "can_open_receipts": membership.allows(Permission.READ_ALL_BUDGETS),
        # Money exists once recruitment has started (a declined or failed start's shows as
        # returned to the budget).
        "billing": (study_billing_for(study.id)
                    if state != State.NOT_STARTED
                    and membership.allows(Permission.READ_STUDY_FIGURES, on_team=on_team)
                    else None),
    }


#: Past the hand-off, the last step says where the recruit stands at UI, as the sync box does.
LAST_STEP = {State.FILLED: "Filled", State.PAUSED: "Paused", State.CLOSED: "Closed"}


def _steps(state):
    order = [step for step, _ in STEPS]
    reached = order.index(state) if state in order else (
        len(order) if state in LAST_STEP else -1)
    last = len(order) - 1
    return [{"label": LAST_STEP.get(state, label) if index == last else label,
             "done": index < reached or (index == reached == last),
             "current": index == reached and index < last}
            for index, (_, label) in enumerate(STEPS)]


@login_required
def money_panel_refresh(request, study_id):
    """The polling partial: refreshed while the hand-off is in progress, then stops."""
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    context = _money_context(request, study)
    response = render(request, "recruitment/money_panel.html", {"study": study, **context})
    if not context["in_progress"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response

"""Study pages: the list, "New study", and the study page's tabs. Thin: services decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from rally.lists import ListQuery, page_of
from rally.permissions import Permission
from rally.selectors import activity_feed, require_permission, workspace_members
from studies import lifecycle, locations, pages, selectors, services
from studies.forms import AudienceSettingsForm, PlanForm
from studies.models import (
    AudienceType,
    LocationMode,
    Source,
    Status,
    StudyType,
)

PAGE_SIZE = 25


def _reach_url(study):
    """The "Audience Reach" region's URL, once the recruitment app serves it."""
    try:
        return reverse("recruitment:audience_reach", kwargs={"study_id": study.id})
    except NoReverseMatch:
        return None


def _publish_needs(study):
    if study.status != Status.DRAFT or study.is_template:
        return {}
    return {problem.field: problem.message for problem in lifecycle.publish_problems(study)}


def _figures_readable(request, study):
    """SPEC W2: money figures (estimated costs included) are for those who may read this
    study's figures: Admins, Ops Managers, Researchers on its team."""
    membership = request.membership
    return membership.allows(Permission.READ_STUDY_FIGURES,
                             on_team=lifecycle.study_on_team(study, membership.user))


def _cost_for_reader(request, study, cost):
    """The estimated recruitment costs for a person who may read them, else None."""
    return cost() if _figures_readable(request, study) else None


def _render_study(request, study, tab, template, context=None, status=200):
    base = pages.study_page_context(request, study, tab)
    return render(request, template, {**base, **(context or {})}, status=status)


# The studies list ---------------------------------------------------------------------------


@login_required
def study_list(request):
    membership = require_permission(request.membership, Permission.VIEW)
    params = {key: request.GET.get(key, "") for key in ("status", "type", "source", "q", "sort")}
    # Each column sorts one way (names A to Z, the latest update first): no toggling.
    sort = params["sort"] if params["sort"] in selectors.SORTS else "updated"
    templates = request.GET.get("show") == "templates"
    studies = selectors.studies_for_list(
        workspace=membership.workspace, status=params["status"], study_type=params["type"],
        source=params["source"], query=params["q"], sort=sort,
        templates=templates)
    # Applicants, seats and the like describe recruiting; a template never recruits.
    columns = [] if templates else pages.list_columns()
    for column in columns:
        studies = column.annotate(studies)
    page = page_of(studies, request.GET, PAGE_SIZE)
    links = ListQuery(reverse("studies:study_list"), {**params, "sort": sort,
                                                      "show": request.GET.get("show", "")},
                      default_sort="updated")
    return render(request, "studies/study_list.html", {
        "page": page,
        "pages": links.page_links(page),
        "columns": columns,
        "rows": pages.list_rows(page.object_list, columns),
        "params": params,
        "showing_templates": templates,
        "sort_links": {key: links.url(sort=key) for key in selectors.SORTS},
        "current_sort": sort,
        "current_sort_label": selectors.SORTS[sort][1],
        "statuses": Status.choices,
        "study_types": StudyType.choices,
        "sources": Source.choices,
        "can_create": membership.allows(Permission.EDIT_STUDY),
        "has_templates": selectors.templates_for_workspace(membership.workspace).exists(),
        "filtered": any(params[key] for key in ("status", "type", "source", "q")),
    })


# The study page -----------------------------------------------------------------------------


@login_required
def study_overview(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    return _overview(request, study)


def _problem_links(study, problems):
    return [{"message": problem.message,
             "url": reverse(f"studies:study_{problem.tab}", kwargs={"study_id": study.id})
             + f"#field-{problem.field}"}
            for problem in problems]


def _overview(request, study, problems=None, status=200):
    problem_links = _problem_links(study, problems or [])
    checklist = []
    if not problems and study.status == Status.DRAFT and not study.is_template:
        checklist = _problem_links(study, lifecycle.publish_problems(study))
    return _render_study(request, study, "overview", "studies/study_overview.html", {
        "cost": _cost_for_reader(request, study, lambda: selectors.study_cost_for(study)),
        "applied_criteria": selectors.study_applied_criteria(study),
        "location": _location_summary(study),
        "panels": pages.overview_panels(request, study),
        "copy_dialogs": copy_dialogs(study) if request.membership.allows(
            Permission.EDIT_STUDY) and not study.is_template else [],
        "publish_problems": problem_links,
        "publish_checklist": checklist,
        "activity": activity_feed(membership=request.membership, study_id=study.id, limit=5),
    }, status=status)


def _location_summary(study):
    if study.location_mode == LocationMode.STATE:
        names = [locations.state_name(code) for code in study.us_states]
        return "United States: " + (", ".join(names) if names else "no states chosen yet")
    return ", ".join(locations.country_name(code) for code in study.countries) or \
        "No countries chosen yet"


@login_required
@require_POST
def study_publish(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    try:
        services.study_publish(membership=request.membership, study=study)
    except lifecycle.PublishBlocked as blocked:
        return _overview(request, study, problems=blocked.problems, status=400)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("studies:study_overview", study_id=study.id)
    messages.success(request, f"“{study.name}” is Active. Publishing does not start "
                              f"recruitment at User Interviews.")
    return redirect("studies:study_overview", study_id=study.id)


# "Save as template" and "Duplicate study" both ask for the new study's name: in a dialog on
# the overview, or on their own page (without JavaScript, or to show an error). The copy
# itself is recruitment.workflows.study_copy (recruitment.study_actions serves the form).
COPY_KINDS = {
    "template": {
        "default_name": services.template_default_name,
        "url_name": "recruitment:study_save_as_template",
        "title": "Save as template",
        "label": "Template name",
        "hint": ("The template keeps this study's plan, audience, screener and scheduling "
                 "settings as a pattern for new studies."),
        "submit": "Save template",
        "done": "Saved the template “{name}”.",
    },
    "duplicate": {
        "default_name": services.duplicate_default_name,
        "url_name": "recruitment:study_duplicate",
        "title": "Duplicate study",
        "label": "Name of the new study",
        "hint": ("A new Draft with this study's plan, team, audience, screener, test tasks and "
                 "scheduling settings. Applicants, sessions and money are not copied."),
        "submit": "Duplicate study",
        "done": "Created “{name}”, a copy of “{source}”. Check the plan next.",
    },
}


def copy_dialogs(study):
    """The overview's "Save as template" and "Duplicate study" dialogs: [(key, kind, url)]."""
    return [{"key": key, "kind": kind, "name": kind["default_name"](study),
             "url": reverse(kind["url_name"], kwargs={"study_id": study.id})}
            for key, kind in COPY_KINDS.items()]


# Plan ---------------------------------------------------------------------------------------


def plan_form(request, study, data=None):
    """The plan tab's form for this person, bound to `data` (a POST) when saving. Read-only
    fields keep the study's values (a disabled field reads its initial value)."""
    members = list(workspace_members(request.membership.workspace))
    team_args = {"team_editable": lifecycle.study_team_changeable_by(request.membership, study),
                 "user_id": request.user.pk}
    return PlanForm(data, initial=PlanForm.initial_for(study), study=study, members=members,
                    **team_args)


def plan_page(request, study, form):
    """The plan tab showing `form`; 400 when it carries a refused save's errors. Saving is
    recruitment.study_actions.study_plan_save (a new limit reaches UI's intake, SPEC R6)."""
    if not pages.study_editable(request.membership, study):
        for field in form.fields.values():
            field.disabled = True
    return _render_study(request, study, "plan", "studies/study_plan.html", {
        "form": form,
        "cost": _cost_for_reader(request, study, lambda: _cost_from_form(study, form)),
        "publish_needs": _publish_needs(study),
        "consent_versions": selectors.consent_versions(study),
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def study_plan(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    return plan_page(request, study, plan_form(request, study))


def _cost_from_form(study, form):
    """The estimate for what the form shows (typed values when they parse)."""
    data = form.data if form.is_bound else None

    def typed(name, parser, current):
        if data is None or form.fields[name].disabled or name not in data:
            return current
        try:
            return parser(data.get(name))
        except ValidationError:
            return None

    source = study.source if (data is None or form.fields["source"].disabled) else \
        data.get("source", study.source)
    study_type = study.study_type if (data is None or form.fields["study_type"].disabled) \
        else data.get("study_type", study.study_type)
    return selectors.study_cost_estimate(
        source=source, study_type=study_type, audience_type=study.audience_type,
        participation_limit=typed("participation_limit", services.parse_participation_limit,
                                  study.participation_limit),
        incentive_amount=typed("incentive_amount", services.parse_incentive_amount,
                               study.incentive_amount))


@login_required
@require_POST
def study_plan_cost(request, study_id):
    """The estimated cost for the plan as typed (htmx, nothing saved)."""
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.READ_STUDY_FIGURES)
    form = PlanForm(request.POST, study=study, members=[])
    return render(request, "studies/study_plan.html#cost",
                  {"study": study, "cost": _cost_from_form(study, form)})


# Audience -----------------------------------------------------------------------------------


def _audience_context(request, study, settings_form=None, errors=None):
    query = request.GET.get("q", "")
    applied = selectors.study_applied_criteria(study)
    applied_by_slug = {criterion["characteristic"]: criterion for criterion in study.criteria}
    return {
        "settings_form": settings_form or AudienceSettingsForm(initial={
            "audience_type": study.audience_type, "duration_minutes": study.duration_minutes}),
        "errors": errors or {},
        "query": query,
        "catalog": selectors.criteria_catalog(audience_type=study.audience_type, query=query),
        "applied": applied,
        "applied_by_slug": applied_by_slug,
        "countries": locations.countries(),
        "chosen_countries": [(code, locations.country_name(code)) for code in study.countries],
        "us_states": locations.us_states(),
        "reach_url": _reach_url(study),
        "cost": _cost_for_reader(request, study, lambda: selectors.study_cost_for(study)),
        "publish_needs": _publish_needs(study),
        "locked": study.is_recruitment_locked,
        "can_edit_audience": (pages.study_editable(request.membership, study)
                              and not study.is_recruitment_locked),
        "is_b2b": study.audience_type == AudienceType.B2B,
        "b2b_only": selectors.b2b_only_professional_names(audience_type=study.audience_type),
    }


@login_required
def study_audience(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    context = _audience_context(request, study)
    if request.htmx and request.htmx.target == "criteria-results":
        return render(request, "studies/study_audience.html#catalog",
                      {**context, "study": study})
    return _render_study(request, study, "audience", "studies/study_audience.html", context)


def _audience_response(request, study, error=None, settings_form=None, saved=None):
    """After an audience change: the page again (htmx: the editor + chips) or a redirect.

    Every section of the tab saves with its own button (the Country/State switch as it is
    chosen) and each save says what it saved: `saved(study)` gives the sentence."""
    study = selectors.get_study_for_user(request.membership, study.id,
                                         permission=Permission.VIEW)
    saved_message = saved(study) if saved is not None and error is None \
        and settings_form is None else ""
    errors = {}
    if error is not None:
        if hasattr(error, "error_dict"):
            errors = {field: " ".join(msgs) for field, msgs in error.message_dict.items()}
        else:
            errors = {"audience": " ".join(error.messages)}
    if error is None and settings_form is None and not request.htmx:
        if saved_message:
            messages.success(request, saved_message)
        response = redirect("studies:study_audience", study_id=study.id)
    elif request.htmx:
        context = {**_audience_context(request, study, settings_form, errors), "study": study,
                   "oob": True, "saved_message": saved_message}
        # htmx swaps only 2xx answers: a refusal comes back as 200 with its messages shown.
        response = render(request, "studies/study_audience.html#editor", context)
        response.content += render(request, "studies/study_audience.html#side",
                                   context).content
    else:
        response = _render_study(request, study, "audience", "studies/study_audience.html",
                                 _audience_context(request, study, settings_form, errors),
                                 status=400)
    if error is None and settings_form is None:
        response["HX-Trigger"] = "audience-changed"
    return response


def _audience_change(request, study_id, change, saved):
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.EDIT_STUDY)
    try:
        change(study)
    except ValidationError as error:
        return _audience_response(request, study, error=error)
    return _audience_response(request, study, saved=saved)


def _names(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _settings_saved(study):
    return (f"Saved the audience: {study.get_audience_type_display()}, "
            f"{study.duration_minutes} minutes.")


def _location_saved(action):
    def saved(study):
        if action == "mode":
            return f"Filtering the location by {study.get_location_mode_display().lower()}."
        if action in ("add_country", "remove_country"):
            chosen = _names(locations.country_name(code) for code in study.countries)
            return f"Saved the countries: {chosen or 'none'}."
        chosen = _names(locations.state_name(code) for code in study.us_states)
        return f"Saved the states: {chosen or 'none'}."
    return saved


def _criteria_saved(study):
    applied = _names(criterion.name for criterion in selectors.study_applied_criteria(study))
    return f"Saved the criteria: {applied}." if applied else "Saved: no criteria applied."


@login_required
@require_POST
def study_audience_settings(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id,
                                         permission=Permission.EDIT_STUDY)
    form = AudienceSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.study_update_audience_settings(
                membership=request.membership, study=study,
                audience_type=form.cleaned_data["audience_type"],
                duration_minutes=form.cleaned_data["duration_minutes"])
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                form.apply_service_errors(error)
                return _audience_response(request, study, settings_form=form)
            return _audience_response(request, study, error=error)
        return _audience_response(request, study, saved=_settings_saved)
    return _audience_response(request, study, settings_form=form)


@login_required
@require_POST
def study_audience_location(request, study_id):
    action = request.POST.get("action", "")
    membership = request.membership

    def change(study):
        if action == "mode":
            services.study_set_location_mode(membership=membership, study=study,
                                             mode=request.POST.get("location_mode", ""))
        elif action == "add_country":
            services.study_add_country(membership=membership, study=study,
                                       code=request.POST.get("country", ""))
        elif action == "remove_country":
            services.study_remove_country(membership=membership, study=study,
                                          code=request.POST.get("country", ""))
        elif action == "states":
            services.study_set_states(membership=membership, study=study,
                                      codes=request.POST.getlist("us_states"))
        else:
            raise ValidationError({"country": "Choose what to change in the location."})

    return _audience_change(request, study_id, change, _location_saved(action))


@login_required
@require_POST
def study_audience_criteria(request, study_id):
    """"Apply criteria": every characteristic shown in the catalog form is set or cleared."""
    post = request.POST
    selections = {}
    for slug in post.getlist("shown"):
        if post.get(f"min:{slug}") is not None or post.get(f"max:{slug}") is not None:
            selections[slug] = {"range": {"min": post.get(f"min:{slug}", ""),
                                          "max": post.get(f"max:{slug}", "")}}
        else:
            selections[slug] = {"values": post.getlist(f"values:{slug}")}

    def change(study):
        services.study_apply_criteria(membership=request.membership, study=study,
                                      selections=selections)

    return _audience_change(request, study_id, change, _criteria_saved)


@login_required
@require_POST
def study_criterion_remove(request, study_id, slug):
    def change(study):
        services.study_remove_criterion(membership=request.membership, study=study, slug=slug)

    return _audience_change(request, study_id, change, _criteria_saved)


@login_required
def study_activity(request, study_id):
    study = selectors.get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    return _render_study(request, study, "activity", "studies/study_activity.html", {
        "activity": activity_feed(membership=request.membership, study_id=study.id,
                                  limit=200),
    })

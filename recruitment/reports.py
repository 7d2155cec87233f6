"""Recruitment metrics on screen (SPEC M1): the study overview's panel and the workspace
Reports page (per-study table, workspace medians and the funnel chart)."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from rally.permissions import Permission
from rally.selectors import require_permission
from recruitment import metrics as m
from studies.lifecycle import study_on_team
from studies.models import Status, Study, StudyType
from studies.selectors import get_study_for_user

PAGE_SIZE = 25

#: sort key -> (column label, value of a StudyMetrics row to sort by)
SORTS = {
    "name": ("Study", lambda row: row.name.lower()),
    "type": ("Type", lambda row: row.study_type_label),
    "started": ("Started", lambda row: row.started_at),
    "qualified": ("First qualified applicant", lambda row: row.minutes_to_first_qualified),
    "session": ("First confirmed session", lambda row: row.hours_to_first_session),
    "fill": ("Time to fill", lambda row: row.days_to_fill),
    "show": ("Show rate", lambda row: row.show_rate),
    "cost": ("Cost per completed", lambda row: row.cost_per_completed),
    "completed": ("Completed", lambda row: row.completed),
}
DEFAULT_SORT = "-started"


# Words ---------------------------------------------------------------------------------------


def _number(value):
    """1 decimal, without a trailing ".0": 6.5, 26, 1,234.5."""
    rounded = round(value, 1)
    return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.1f}"


def duration_words(hours):
    """A duration in the unit its size calls for: minutes under two hours, hours under two
    days, then days ("45 minutes", "26.4 hours", "3.5 days"). None stays None."""
    if hours is None:
        return None
    minutes = hours * 60
    if minutes < 1:
        return "Under a minute"
    if minutes < 119.5:
        whole = round(minutes)
        return f"{whole} minute{'s' if whole != 1 else ''}"
    if hours < 47.95:
        return f"{_number(hours)} hours"
    return f"{_number(hours / 24)} days"


def minutes_words(value):
    return None if value is None else duration_words(value / 60)


def hours_words(value):
    return duration_words(value)


def days_words(value):
    return None if value is None else duration_words(value * 24)


def percent_words(value):
    return None if value is None else f"{round(value * 100)}%"


def _display(metrics):
    """What a row or the panel shows of one study's metrics (text, with what is missing)."""
    started = metrics.started_at is not None
    if metrics.days_to_fill is not None:
        fill = days_words(metrics.days_to_fill)
    elif metrics.filled:
        fill = "Filled"
    elif started:
        fill = "Never filled" if metrics.status == Status.CLOSED else "Not filled yet"
    else:
        fill = None
    return {
        "metrics": metrics,
        "started": started,
        "qualified": minutes_words(metrics.minutes_to_first_qualified),
        "session": hours_words(metrics.hours_to_first_session),
        "completion": hours_words(metrics.hours_to_first_completion),
        "fill": fill,
        "show_rate": percent_words(metrics.show_rate),
        "cost": metrics.cost_per_completed,
        "funnel": m.funnel_stages(metrics.funnel),
    }


# The funnel chart ------------------------------------------------------------------------------

CHART_WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP = 560, 96, 28, 10


def funnel_chart(stages):
    """Geometry of the funnel's horizontal bars, drawn server-side as SVG: one bar per stage,
    its length its share of Applied (a stage with people keeps a visible sliver)."""
    room = CHART_WIDTH - LABEL_WIDTH - 72
    bars = []
    for index, stage in enumerate(stages):
        width = round(room * stage["share"]) if stage["count"] else 0
        bars.append({**stage, "y": index * (BAR_HEIGHT + GAP), "width": max(width, 2)
                     if stage["count"] else 0, "percent": percent_words(stage["share"]),
                     "text_x": LABEL_WIDTH + max(width, 2) + 8})
    return {"bars": bars, "width": CHART_WIDTH, "label_width": LABEL_WIDTH, "track_width": room,
            "bar_height": BAR_HEIGHT, "text_y": BAR_HEIGHT // 2 + 5,
            "height": len(stages) * (BAR_HEIGHT + GAP) - GAP}


# The study overview's panel ------------------------------------------------------------------


def _may_read(membership, study):
    return membership is not None and membership.allows(
        Permission.READ_STUDY_FIGURES, on_team=study_on_team(study, membership.user))


def _panel_shown(request, study):
    return (not study.is_template and study.status != Status.DRAFT
            and _may_read(getattr(request, "membership", None), study))


def metrics_panel(request, study):
    """Study page overview panel: its place on the overview, once the study is out of
    draft. Its figures (about a third of the overview's work) load after the page, from
    `metrics_panel_card`; without JavaScript the card links there."""
    if not _panel_shown(request, study):
        return None
    # The placeholder takes the card's shape (same boxes, same funnel), so nothing below it
    # moves when the figures arrive (layout shift).
    return "recruitment/metrics_panel.html", {
        "loading": True, "started": study.recruitment_started_at is not None,
        "metric_labels": METRIC_LABELS[study.study_type == StudyType.UNMODERATED_TEST],
        "funnel_stages": [label for _key, label, _statuses in m.FUNNEL]}


#: The card's metrics, in its order (moderated studies, then unmoderated tests).
METRIC_LABELS = {
    False: ("Time to first qualified applicant", "Time to first confirmed session",
            "Days to fill", "Show rate", "Cost per completed participant"),
    True: ("Time to first qualified applicant", "Time to first completed test",
           "Days to fill", "Show rate", "Cost per completed participant"),
}


@login_required
@require_GET
def metrics_panel_card(request, study_id):
    """The overview's recruitment metrics card (the panel's partial, or a page of its own
    for a browser without JavaScript). Same reader rule as the panel."""
    study = get_study_for_user(request.membership, study_id,
                               permission=Permission.READ_STUDY_FIGURES)
    if not _panel_shown(request, study):
        raise Http404
    metrics = m.study_metrics_for(study)
    if metrics is None:
        raise Http404
    context = {"study": study, "row": _display(metrics),
               "medians": {"qualified": m.MEDIAN_MINUTES_TO_QUALIFIED,
                           "session": m.MEDIAN_HOURS_TO_SESSION}}
    if request.htmx:  # the overview's placeholder swaps itself for the card
        return render(request, "recruitment/metrics_panel_page.html#card",
                      {**context, "partial": True})
    return render(request, "recruitment/metrics_panel_page.html", context)


# The Reports page ----------------------------------------------------------------------------


class ReportFilterForm(forms.Form):
    started_from = forms.DateField(label="Started from", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    started_to = forms.DateField(label="Started to", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    study_type = forms.ChoiceField(label="Study type", required=False,
                                   choices=[("", "All types"), *StudyType.choices])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_from"), cleaned.get("started_to")
        if start and end and start > end:
            self.add_error("started_to", "The end date is before the start date.")
        return cleaned


def studies_for_reports(membership, *, study_type=""):
    """The studies a person may see figures of: every one for Admins and Ops Managers, their
    own team's for Researchers (SPEC W2). Templates and drafts have nothing to report."""
    studies = Study.objects.filter(workspace_id=membership.workspace_id, is_template=False
                                   ).exclude(status=Status.DRAFT)
    if not membership.allows(Permission.READ_STUDY_FIGURES):
        user = membership.user
        studies = studies.filter(Q(owner=user) | Q(pk__in=Study.team.through.objects.filter(
            user=user).values("study_id")))
    if study_type in StudyType.values:
        studies = studies.filter(study_type=study_type)
    return studies


def _in_range(row, start, end, zone):
    if not (start or end):
        return True
    if row.started_at is None:
        return False
    day = row.started_at.astimezone(zone).date()
    return (start is None or day >= start) and (end is None or day <= end)


def _sorted(rows, sort):
    key = sort.lstrip("-")
    value = SORTS[key][1]
    present = [row for row in rows if value(row) is not None]
    missing = [row for row in rows if value(row) is None]
    present.sort(key=lambda row: (value(row), row.name.lower()), reverse=sort.startswith("-"))
    return present + sorted(missing, key=lambda row: row.name.lower())  # blanks last


def _zone(user):
    try:
        return ZoneInfo(user.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@login_required
@require_GET
def reports(request):
    membership = require_permission(request.membership, Permission.READ_STUDY_FIGURES,
                                    on_team=True)
    form = ReportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    zone = _zone(request.user)
    rows = [row for row in m.study_metrics(studies_for_reports(
                membership, study_type=filters.get("study_type", "")))
            if _in_range(row, filters.get("started_from"), filters.get("started_to"), zone)]
    workspace = m.workspace_metrics(rows)
    page = Paginator(_sorted(rows, sort), PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {key: request.GET[key] for key in ("started_from", "started_to", "study_type")
            if request.GET.get(key) and not form.errors}
    columns = []
    for key, (label, _value) in SORTS.items():
        current = sort.lstrip("-") == key
        descending = current and sort.startswith("-")
        next_sort = key if descending else f"-{key}"
        if not current and key in ("name", "type"):
            next_sort = key
        columns.append({"key": key, "label": label,
                        "aria_sort": ("descending" if descending else "ascending")
                        if current else "none",
                        "url": "?" + urlencode({**kept, "sort": next_sort}),
                        "numeric": key not in ("name", "type", "started")})
    page_url = {}
    if page.has_previous():
        page_url["previous"] = "?" + urlencode({**kept, "sort": sort,
                                                "page": page.previous_page_number()})
    if page.has_next():
        page_url["next"] = "?" + urlencode({**kept, "sort": sort,
                                            "page": page.next_page_number()})
    context = {
        "form": form,
        "filtered": bool(kept),
        "rows": [_display(row) for row in page.object_list],
        "page": page,
        "page_url": page_url,
        "columns": columns,
        "sort_label": SORTS[sort.lstrip("-")][0],
        "sort_descending": sort.startswith("-"),
        "workspace": workspace,
        "workspace_words": {
            "qualified": minutes_words(workspace.median_minutes_to_first_qualified),
            "session": hours_words(workspace.median_hours_to_first_session),
            "fill": days_words(workspace.median_days_to_fill),
            "show_rate": percent_words(workspace.show_rate),
            "with_reminders": percent_words(workspace.with_reminders.show_rate),
            "without_reminders": percent_words(workspace.without_reminders.show_rate),
        },
        "chart": funnel_chart(workspace.funnel),
        "medians": {"qualified": m.MEDIAN_MINUTES_TO_QUALIFIED,
                    "session": m.MEDIAN_HOURS_TO_SESSION},
        "own_team_only": not membership.allows(Permission.READ_STUDY_FIGURES),
    }
    template = "recruitment/reports.html"
    if request.htmx and request.htmx.target == "report-results":
        # htmx swaps only a 2xx answer: the partial carries the error summary itself.
        return render(request, template + "#results", context)
    return render(request, template, context, status=400 if form.errors else 200)

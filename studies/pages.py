"""The study page's tabs and overview panels, which higher apps extend without studies
importing them.

`register_tab("participants", label="Participants", url_name="participants:study_participants",
order=60)` adds a tab (the scheduling, participants and panel apps add theirs); registering a
key again replaces that tab.
`register_overview_panel("recruitment", 10, provider)` adds a panel to the overview, where
provider(request, study) returns (template_name, context) or None (nothing to show).
"""

from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from rally.permissions import Permission
from studies import lifecycle
from studies.models import Status, StudyType


def _always(study):
    return True


def _unmoderated(study):
    return study.study_type == StudyType.UNMODERATED_TEST


@dataclass
class Tab:
    key: str
    label: str
    url_name: str  # reversed with study_id=
    order: int
    applies_to: object = field(default=_always)  # fn(study) -> bool


_tabs = {
    tab.key: tab for tab in (
        Tab("overview", "Overview", "studies:study_overview", 10),
        Tab("plan", "Plan", "studies:study_plan", 20),
        Tab("audience", "Audience", "studies:study_audience", 30),
        Tab("screener", "Screener", "studies:study_screener", 40),
        Tab("test", "Test", "studies:study_test", 50, _unmoderated),
        Tab("activity", "Activity", "studies:study_activity", 90),
    )
}
_panels = {}
_list_columns = {}


@dataclass
class ListColumn:
    key: str
    label: str
    order: int
    annotate: object  # fn(queryset) -> queryset, adding what `value` reads (no per-row query)
    value: object  # fn(study) -> number or short text
    numeric: bool = True


def register_list_column(key, *, label, order, annotate, value, numeric=True):
    """Add a column to the studies list (applicants, invited, ... from the participants app)."""
    _list_columns[key] = ListColumn(key, label, order, annotate, value, numeric)


def list_columns():
    return sorted(_list_columns.values(), key=lambda column: (column.order, column.key))


def list_rows(studies, columns):
    """[(study, [cell values])] for a page of the list, the columns' querysets annotated."""
    return [(study, [{"value": column.value(study), "numeric": column.numeric}
                     for column in columns]) for study in studies]


def register_tab(key, *, label, url_name, order, applies_to=None):
    """Add a tab to the study page, or take over a built-in one by its key."""
    _tabs[key] = Tab(key, label, url_name, order, applies_to or _always)


def register_overview_panel(key, order, provider):
    """Add a panel to the study overview: provider(request, study) -> (template, context)|None."""
    _panels[key] = (order, provider)


def tabs_for(study, current):
    """[(label, url, is_current)] for the study page's tab bar."""
    tabs = sorted((tab for tab in _tabs.values() if tab.applies_to(study)),
                  key=lambda tab: (tab.order, tab.label))
    return [{"key": tab.key, "label": tab.label,
             "url": reverse(tab.url_name, kwargs={"study_id": study.id}),
             "current": tab.key == current} for tab in tabs]


def overview_panels(request, study):
    """The rendered HTML of every registered panel that has something to show, in order."""
    rendered = []
    for _, (_order, provider) in sorted(_panels.items(), key=lambda item: (item[1][0], item[0])):
        result = provider(request, study)
        if result is None:
            continue
        template_name, context = result
        rendered.append(mark_safe(render_to_string(  # noqa: S308 - our own rendered template
            template_name, {"study": study, **context}, request=request)))
    return rendered


def study_editable(membership, study):
    """Whether `membership` may change the study's setup now (a closed study is read-only)."""
    return membership.allows(Permission.EDIT_STUDY) and study.status != Status.CLOSED


def study_page_context(request, study, tab):
    """What `studies/study_base.html` needs around a tab's content (title, status badge,
    "Publish Study", the "Change status" menu, the tabs). A higher app's tab view renders its
    template, which extends study_base.html, with `{**study_page_context(...), ...}`."""
    membership = request.membership
    return {
        "study": study,
        "tabs": tabs_for(study, tab),
        "current_tab": tab,
        "status_targets": [
            {"status": target, "label": Status(target).label,
             "confirm": target == Status.CLOSED}
            for target in lifecycle.allowed_targets(membership=membership, study=study)
            if study.status != Status.DRAFT],
        "can_publish": (study.status == Status.DRAFT and lifecycle.transition_allowed(
            membership=membership, study=study, to=Status.ACTIVE)),
        "can_edit": study_editable(membership, study),
        "close_consequences": lifecycle.CLOSE_CONSEQUENCES,
    }


def study_tab_return(candidate, tabs, default=None):
    """Where an action opened from one of a study's tabs goes back to: `candidate` (a `next`
    from the form) when it is one of `tabs` (their URLs), with that page's query string kept;
    `default` for anything else — another study's page, another site, garbage."""
    for tab in tabs:
        if candidate == tab or candidate.startswith(f"{tab}?"):
            return candidate
    return default


"""The study page's pieces as lower apps read them: its tabs, the overview's panels, the
studies list's columns, and the participants' row actions and profile panels.

The page is declared in one place, in the top layer: `recruitment.study_page.STUDY_PAGE`, a
`StudyPage` of the kinds below, which imports the views and providers of the apps beneath it.
No app registers anything. Studies cannot import upward, so it finds the declaration the
way Django finds the root URLconf: the `STUDY_PAGE` setting names it by dotted path and
`study_page()` imports it on first use (a request, an email or a task alike).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from rally.permissions import Permission
from studies import lifecycle
from studies.models import Status


def _always(study):
    return True


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url_name: str  # reversed with study_id=
    order: int
    applies_to: object = field(default=_always)  # fn(study) -> bool


@dataclass(frozen=True)
class Part:
    """A panel or row-actions provider of the page, in `order` (then `key`). `provider` is
    the function itself, or its dotted path when the owner may not import its app (the panel
    app's pieces: recruitment and panel never import each other); that is imported when the
    page is first drawn."""

    key: str
    order: int
    provider: object  # a function, or "app.module.function"

    def __call__(self, *args):
        provider = self.provider
        if isinstance(provider, str):
            provider = import_string(provider)
        return provider(*args)


@dataclass(frozen=True)
class ListColumn:
    key: str
    label: str
    order: int
    annotate: object  # fn(queryset) -> queryset, adding what `value` reads (no per-row query)
    value: object  # fn(study) -> number or short text
    numeric: bool = True


@dataclass(frozen=True)
class StudyPage:
    """Everything around a study that more than one app fills in.

    - tabs: the tab bar (a tab shows where `applies_to(study)`);
    - overview_panels: provider(request, study) -> (template_name, context) | None;
    - list_columns: the studies list's columns beside name, type and status;
    - row_actions: provider(request, study, applications) -> {application id: [items]}
      (participants.row_actions);
    - profile_panels: provider(request, study, application) -> (template, context) | None
      (participants.profile).
    """

    tabs: tuple
    overview_panels: tuple = ()
    list_columns: tuple = ()
    row_actions: tuple = ()
    profile_panels: tuple = ()


def _ordered(items):
    return sorted(items, key=lambda item: (item.order, item.key))


def study_page():
    """The study page's declaration named by settings.STUDY_PAGE."""
    return import_string(settings.STUDY_PAGE)


def list_columns():
    return _ordered(study_page().list_columns)


def list_rows(studies, columns):
    """[(study, [cell values])] for a page of the list, the columns' querysets annotated."""
    return [(study, [{"value": column.value(study), "numeric": column.numeric}
                     for column in columns]) for study in studies]


def tabs_for(study, current):
    """[(label, url, is_current)] for the study page's tab bar."""
    tabs = _ordered(tab for tab in study_page().tabs if tab.applies_to(study))
    return [{"key": tab.key, "label": tab.label,
             "url": reverse(tab.url_name, kwargs={"study_id": study.id}),
             "current": tab.key == current} for tab in tabs]


def overview_panels(request, study):
    """The rendered HTML of every overview panel that has something to show, in order."""
    rendered = []
    for panel in _ordered(study_page().overview_panels):
        result = panel(request, study)
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


"""The study page has one owner (recruitment.study_page): every study-page path is answered by
exactly one URL pattern, declared there, and its declaration names only things that exist."""

import re
import uuid

import pytest
from django.urls import URLResolver, get_resolver, path, reverse
from django.utils.module_loading import import_string

from recruitment import study_page
from studies.pages import study_page as declared_page

SAMPLES = {"uuid": str(uuid.UUID(int=7)), "slug": "a-slug", "str": "word", "int": "3",
           "path": "a/b"}


def _leaves(patterns, chain=()):
    """Every endpoint of a URLconf, as the chain of patterns that leads to it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern.url_patterns, (*chain, pattern))
        else:
            yield (*chain, pattern)


def _route(chain):
    return "".join(str(pattern.pattern) for pattern in chain)


def _sample(route):
    """A concrete path for a route: each <converter:name> filled with a value it accepts."""
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def _answers(chain, path):
    for pattern in chain:
        match = pattern.pattern.match(path)
        if match is None:
            return False
        path = match[0]
    return True


def _overlaps(patterns, prefix):
    """{sample path: [routes]} for every path under `prefix` more than one pattern answers."""
    leaves = list(_leaves(patterns))
    found = {}
    for leaf in leaves:
        route = _route(leaf)
        if not route.startswith(prefix):
            continue
        sample = _sample(route)
        answering = [_route(other) for other in leaves if _answers(other, sample)]
        if len(answering) != 1:
            found[sample] = answering
    return found


def test_each_study_page_path_is_answered_by_exactly_one_pattern():
    assert _overlaps(get_resolver().url_patterns, "studies/") == {}


def test_the_walk_finds_two_patterns_answering_one_path():
    def view(request, **kwargs):
        return None

    patterns = [path("studies/<uuid:study_id>/participants/", view),
                path("studies/<uuid:study_id>/<str:tab>/", view)]
    sample = f"studies/{SAMPLES['uuid']}/participants/"
    assert _overlaps(patterns, "studies/") == {sample: [
        "studies/<uuid:study_id>/participants/", "studies/<uuid:study_id>/<str:tab>/"]}


def test_every_study_url_is_declared_by_the_owner():
    declared = {str(pattern.pattern) for pattern in (
        study_page.STUDIES + study_page.PARTICIPANTS + study_page.SCHEDULING
        + study_page.RECRUITMENT + study_page.PANEL)}
    served = {_route(leaf) for leaf in _leaves(get_resolver().url_patterns)
              if _route(leaf).startswith(study_page.STUDY)}
    assert served == declared - {"studies/"}


@pytest.mark.parametrize("name", ["studies:study_overview", "participants:study_participants",
                                  "scheduling:study_scheduling", "recruitment:money_panel",
                                  "panel:study_invite", "panel:incentive_record"])
def test_each_namespace_keeps_its_study_page_names(name):
    kwargs = {"study_id": uuid.uuid4()}
    if name == "panel:incentive_record":
        kwargs["application_id"] = uuid.uuid4()
    assert reverse(name, kwargs=kwargs).startswith(f"/studies/{kwargs['study_id']}/")


def test_the_setting_names_the_owners_declaration():
    assert declared_page() is study_page.STUDY_PAGE


def test_every_tab_leads_to_a_study_page_url_and_every_named_provider_imports():
    page = study_page.STUDY_PAGE
    study_id = uuid.uuid4()
    for tab in page.tabs:
        assert reverse(tab.url_name, kwargs={"study_id": study_id}).startswith(
            f"/studies/{study_id}/")
    assert len({tab.key for tab in page.tabs}) == len(page.tabs)
    for part in page.overview_panels + page.row_actions + page.profile_panels:
        provider = part.provider
        assert callable(import_string(provider) if isinstance(provider, str) else provider)

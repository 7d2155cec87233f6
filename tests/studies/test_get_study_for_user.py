"""get_study_for_user: how every view reaches a study — 404 outside the member's
workspace, 403 for a role that may not act, the team counted where the matrix says TEAM."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from rally.permissions import Permission, require
from studies.selectors import get_study_for_user
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace, admin):
    return StudyFactory(workspace=workspace, owner=admin.user)


def test_every_persona_of_the_workspace_views_the_study(personas, study):
    for membership in personas.values():
        assert get_study_for_user(membership, study.id, permission=Permission.VIEW) == study


@pytest.mark.parametrize("study_id", ["other workspace", "missing"])
def test_another_workspaces_or_no_study_answers_404(outsider, admin, study, study_id):
    membership, wanted = (outsider, study.id) if study_id == "other workspace" \
        else (admin, uuid.uuid4())
    with pytest.raises(Http404):
        get_study_for_user(membership, wanted, permission=Permission.VIEW)


def test_no_membership_answers_404(study):
    with pytest.raises(Http404):
        get_study_for_user(None, study.id, permission=Permission.VIEW)


def test_a_role_that_may_not_act_is_refused_with_403(observer, study):
    with pytest.raises(PermissionDenied):
        get_study_for_user(observer, study.id, permission=Permission.EDIT_STUDY)


def test_a_team_cell_lets_a_researcher_act_only_on_their_teams_study(researcher, study):
    with pytest.raises(PermissionDenied):
        get_study_for_user(researcher, study.id, permission=Permission.REVIEW_APPLICANTS)
    study.team.add(researcher.user)
    assert get_study_for_user(researcher, study.id,
                              permission=Permission.REVIEW_APPLICANTS) == study


def test_services_refuse_a_missing_membership_like_a_refused_role(observer):
    with pytest.raises(PermissionDenied):
        require(None, Permission.VIEW)
    with pytest.raises(PermissionDenied):
        require(observer, Permission.EDIT_STUDY)
    assert require(observer, Permission.VIEW) == observer

"""The status lifecycle (SPEC S5, W2): the transition table, publishing rules and hooks."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from rally.models import ActivityEntry
from recruitment import workflows
from studies import lifecycle, services
from studies.models import AudienceType, LocationMode, Source, Status, StudyType
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db

S = Status

# (from, to, allowed?) for an Admin: every pair of statuses, written out once.
TABLE = [
    (S.DRAFT, S.ACTIVE, True), (S.DRAFT, S.PAUSED, False), (S.DRAFT, S.CLOSED, False),
    (S.ACTIVE, S.PAUSED, True), (S.ACTIVE, S.CLOSED, True), (S.ACTIVE, S.DRAFT, False),
    (S.PAUSED, S.ACTIVE, True), (S.PAUSED, S.CLOSED, True), (S.PAUSED, S.DRAFT, False),
    (S.CLOSED, S.ACTIVE, False), (S.CLOSED, S.PAUSED, False), (S.CLOSED, S.DRAFT, False),
    (S.ACTIVE, S.ACTIVE, False), (S.CLOSED, S.CLOSED, False),
]


@pytest.mark.parametrize(("old", "new", "allowed"), TABLE)
def test_transition_table(ready_study, admin, old, new, allowed):
    ready_study.status = old
    ready_study.save()
    if allowed:
        lifecycle.study_transition(membership=admin, study=ready_study, to=new)
        ready_study.refresh_from_db()
        assert ready_study.status == new
        assert ActivityEntry.objects.filter(study_id=ready_study.id).count() == 1
    else:
        with pytest.raises(ValidationError):
            lifecycle.study_transition(membership=admin, study=ready_study, to=new)
        ready_study.refresh_from_db()
        assert ready_study.status == old
        assert not ActivityEntry.objects.filter(study_id=ready_study.id).exists()


def test_closing_a_closed_study_says_it_is_final(ready_study, admin):
    ready_study.status = S.CLOSED
    ready_study.save()
    with pytest.raises(ValidationError, match="Closing is final"):
        lifecycle.study_transition(membership=admin, study=ready_study, to=S.CLOSED)


# role -> (publish, pause, resume, close) on a study whose team they are NOT on / ARE on
PERMISSIONS = {
    "admin": ((True, True, True, True), (True, True, True, True)),
    "ops_manager": ((True, True, True, True), (True, True, True, True)),
    "researcher": ((False, False, False, False), (True, True, True, False)),
    "observer": ((False, False, False, False), (False, False, False, False)),
}
STEPS = [(S.DRAFT, S.ACTIVE), (S.ACTIVE, S.PAUSED), (S.PAUSED, S.ACTIVE), (S.ACTIVE, S.CLOSED)]


@pytest.mark.parametrize("role", list(PERMISSIONS))
@pytest.mark.parametrize("on_team", [False, True])
def test_permission_matrix_per_role(personas, workspace, ready_study, role, on_team):
    membership = personas[role]
    expected = PERMISSIONS[role][on_team]
    other_owner = personas["admin"].user if role != "admin" else personas["ops_manager"].user
    ready_study.owner = other_owner
    ready_study.save()
    if on_team:
        ready_study.team.add(membership.user)
    for (old, new), allowed in zip(STEPS, expected, strict=True):
        ready_study.status = old
        ready_study.save()
        assert lifecycle.transition_allowed(membership=membership, study=ready_study,
                                            to=new) is allowed
        if allowed:
            lifecycle.study_transition(membership=membership, study=ready_study, to=new)
        else:
            with pytest.raises(PermissionDenied):
                lifecycle.study_transition(membership=membership, study=ready_study, to=new)
        ready_study.refresh_from_db()
        assert ready_study.status == (new if allowed else old)


def test_allowed_targets_offer_only_what_the_person_may_do(ready_study, researcher, admin):
    ready_study.status = S.ACTIVE
    ready_study.save()
    assert lifecycle.allowed_targets(membership=researcher, study=ready_study) == [S.PAUSED]
    assert lifecycle.allowed_targets(membership=admin, study=ready_study) == [S.PAUSED, S.CLOSED]


def test_another_workspace_cannot_move_the_study(ready_study, outsider):
    with pytest.raises(Http404):
        lifecycle.study_transition(membership=outsider, study=ready_study, to=S.ACTIVE)


def test_publish_lists_every_missing_requirement_of_a_ui_study(study, researcher, catalog):
    study.audience_type = AudienceType.B2B
    study.countries = []
    study.save()
    with pytest.raises(lifecycle.PublishBlocked) as blocked:
        services.study_publish(membership=researcher, study=study)
    fields = {problem.field for problem in blocked.value.problems}
    assert fields == {"participation_limit", "external_description", "incentive_amount",
                      "country", "criteria"}
    study.refresh_from_db()
    assert study.status == S.DRAFT


def test_b2b_without_a_professional_criterion_cannot_publish(ready_study, researcher):
    ready_study.criteria = [{"characteristic": "age", "range": {"min": 30, "max": 50}}]
    ready_study.save()
    with pytest.raises(lifecycle.PublishBlocked) as blocked:
        services.study_publish(membership=researcher, study=ready_study)
    assert [p.field for p in blocked.value.problems] == ["criteria"]


def test_state_filter_needs_a_state(ready_study, researcher):
    ready_study.location_mode = LocationMode.STATE
    ready_study.us_states = []
    ready_study.save()
    with pytest.raises(lifecycle.PublishBlocked) as blocked:
        services.study_publish(membership=researcher, study=ready_study)
    assert [p.field for p in blocked.value.problems] == ["us_states"]


def test_rally_panel_study_needs_only_a_limit(workspace, researcher):
    study = StudyFactory(workspace=workspace, owner=researcher.user, source=Source.RALLY_PANEL,
                         study_type=StudyType.SURVEY, participation_limit=50)
    services.study_publish(membership=researcher, study=study)
    study.refresh_from_db()
    assert study.status == S.ACTIVE and study.published_at is not None


def test_publishing_does_not_start_recruitment(ready_study, researcher):
    services.study_publish(membership=researcher, study=ready_study)
    ready_study.refresh_from_db()
    assert ready_study.status == S.ACTIVE
    assert ready_study.recruitment_started_at is None
    assert not ready_study.is_recruitment_locked


def test_a_template_cannot_be_published(ready_study, researcher):
    template = workflows.study_copy(kind="template", membership=researcher, study=ready_study)
    with pytest.raises(ValidationError, match="template"):
        services.study_publish(membership=researcher, study=template)


def test_unknown_status_is_refused(ready_study, admin):
    with pytest.raises(ValidationError):
        lifecycle.study_transition(membership=admin, study=ready_study, to="archived")


@pytest.mark.parametrize(("study_type", "source"), [("webinar", "user_interviews"),
                                                    ("interview", "craigslist"),
                                                    ("survey", "user_interviews")])
def test_create_refuses_unknown_or_impossible_type_and_source(researcher, study_type, source):
    with pytest.raises(ValidationError):
        services.study_create(membership=researcher, name="X", study_type=study_type,
                              source=source)

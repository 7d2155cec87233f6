"""The team field follows SPEC W3: an Admin, an Ops Manager or the study's owner changes a
team, and nobody adds themselves to gain the team's rights."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from studies import services
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace, admin):
    return StudyFactory(workspace=workspace, owner=admin.user, name="Billing interviews")


def _team(study):
    return set(study.team.values_list("pk", flat=True))


def test_a_researcher_cannot_add_themselves_to_a_team(study, researcher):
    with pytest.raises(ValidationError) as refused:
        services.study_update_plan(membership=researcher, study=study,
                                   changes={"team": [str(researcher.user_id)]})
    assert services.TEAM_CHANGE_REFUSED in refused.value.messages
    assert _team(study) == set()


def test_a_researcher_cannot_add_themselves_through_the_plan_page(study, researcher,
                                                                  ops_manager, client_for):
    url = reverse("studies:study_plan", args=[study.pk])
    client = client_for(researcher)
    page = client.get(url).content.decode()
    assert "changes the team" in page
    assert f'value="{researcher.user_id}"' not in page  # not offered to themselves
    client.post(reverse("recruitment:study_plan_save", args=[study.pk]),
                {"name": study.name, "team": [str(researcher.user_id)]})
    assert _team(study) == set()


def test_an_ops_manager_adds_others_but_not_themselves(study, ops_manager, researcher):
    with pytest.raises(ValidationError) as refused:
        services.study_update_plan(membership=ops_manager, study=study,
                                   changes={"team": [str(ops_manager.user_id)]})
    assert services.TEAM_SELF_ADD_REFUSED in refused.value.messages
    services.study_update_plan(membership=ops_manager, study=study,
                               changes={"team": [str(researcher.user_id)]})
    assert _team(study) == {researcher.user_id}


def test_the_owner_changes_their_studys_team(workspace, researcher, observer):
    study = StudyFactory(workspace=workspace, owner=researcher.user)
    services.study_update_plan(membership=researcher, study=study,
                               changes={"team": [str(observer.user_id)]})
    assert _team(study) == {observer.user_id}
    services.study_update_plan(membership=researcher, study=study, changes={"team": []})
    assert _team(study) == set()

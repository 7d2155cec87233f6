"""The activity entry of a plan update names who joined and who left the team, instead of
ending with a bare "Team"."""

import pytest

from rally.models import ActivityEntry
from studies import services

pytestmark = pytest.mark.django_db


def _summary(study):
    return ActivityEntry.objects.filter(study_id=study.id, action="study.plan_updated").latest(
        "created_at").summary


def _named(membership, name):
    membership.user.name = name
    membership.user.save(update_fields=["name"])
    return str(membership.user.pk)


def test_team_changes_are_named_in_the_activity_entry(researcher, study, admin, ops_manager,
                                                      observer):
    olivia = _named(ops_manager, "Olivia Ortiz")
    avery = _named(admin, "Avery Adams")
    oscar = _named(observer, "Oscar Owens")

    services.study_update_plan(membership=researcher, study=study,
                               changes={"team": [olivia, avery]})
    assert _summary(study).endswith(": Team: added Avery Adams and Olivia Ortiz")

    services.study_update_plan(membership=researcher, study=study,
                               changes={"team": [avery, oscar], "participation_limit": "6"})
    summary = _summary(study)
    assert "Participation limit — → 6; " in summary
    assert summary.endswith("; Team: added Oscar Owens, removed Olivia Ortiz")

    services.study_update_plan(membership=researcher, study=study, changes={"team": []})
    assert _summary(study).endswith(": Team: removed Avery Adams and Oscar Owens")


def test_an_unchanged_team_adds_nothing_to_the_entry(researcher, study, ops_manager):
    olivia = _named(ops_manager, "Olivia Ortiz")
    services.study_update_plan(membership=researcher, study=study, changes={"team": [olivia]})
    services.study_update_plan(membership=researcher, study=study,
                               changes={"team": [olivia], "participation_limit": "4"})
    assert "Team" not in _summary(study)
    assert ActivityEntry.objects.filter(study_id=study.id,
                                        action="study.plan_updated").count() == 2

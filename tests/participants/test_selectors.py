"""Reads on a study's applications: filters, counts, seats (SPEC R6), scoping."""

import uuid

import pytest
from django.http import Http404

from participants import selectors
from tests.participants.factories import ApplicationFactory, ParticipantFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace):
    return StudyFactory(workspace=workspace, participation_limit=3)


def _application(study, status, first_name="Jordan"):
    return ApplicationFactory(study=study, status=status, participant=ParticipantFactory(
        workspace=study.workspace, first_name=first_name))


def test_filters_by_status_and_name(study):
    _application(study, "applied", "Ada")
    _application(study, "invited", "Grace")
    _application(study, "applied", "Alan")
    names = lambda rows: sorted(a.participant.first_name for a in rows)  # noqa: E731
    assert names(selectors.applications_for_study(study=study, status="applied")) == [
        "Ada", "Alan"]
    assert names(selectors.applications_for_study(study=study, query=" gra ")) == ["Grace"]
    assert len(selectors.applications_for_study(study=study, status="bogus")) == 3


def test_counts_every_status_in_one_query(study, django_assert_num_queries):
    _application(study, "applied")
    _application(study, "applied")
    _application(study, "rejected")
    with django_assert_num_queries(1):
        counts = selectors.application_counts_by_status(study=study)
    assert counts["applied"] == 2 and counts["rejected"] == 1 and counts["paid"] == 0


def test_seats_count_invited_scheduled_and_completed_only(study):
    for status in ("applied", "unqualified", "rejected", "canceled", "no_show", "invited",
                   "scheduled"):
        _application(study, status)
    assert selectors.study_seats_taken(study=study) == 2
    assert selectors.study_has_free_seat(study=study)
    _application(study, "completed")
    assert not selectors.study_has_free_seat(study=study)


def test_another_studys_application_is_not_found(study, workspace):
    other = _application(StudyFactory(workspace=workspace), "applied")
    with pytest.raises(Http404):
        selectors.application_get_for_study(study=study, application_id=other.pk)
    with pytest.raises(Http404):
        selectors.application_get_for_study(study=study, application_id="not-a-uuid")
    with pytest.raises(Http404):
        selectors.application_get_for_study(study=study, application_id=uuid.uuid4())
    mine = _application(study, "applied")
    assert selectors.application_get_for_study(study=study, application_id=mine.pk) == mine

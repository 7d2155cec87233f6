"""Two reviewers at once on Postgres: the last seat goes to one applicant only (SPEC R6)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from participants import services
from participants.models import Application
from rally.models import OutboxOperation
from tests.participants.factories import ApplicationFactory, ParticipantFactory, StudyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _invite_at_once(study, attempts):
    """Run applicant_invite for each (membership, application) in its own thread, all
    starting together; the outcomes: "invited" or the refusal's message."""
    barrier = threading.Barrier(len(attempts))
    outcomes = []

    def invite(membership, application):
        try:
            barrier.wait()
            services.applicant_invite(membership=membership, study=study,
                                      application_id=application.pk)
            outcomes.append("invited")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=invite, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_reviewers_inviting_for_the_last_seat_fill_it_once(workspace, admin, ops_manager):
    study = StudyFactory(workspace=workspace, participation_limit=2)
    ApplicationFactory(study=study, status="scheduled", participant=ParticipantFactory(
        workspace=workspace))
    first, second = (ApplicationFactory(study=study, participant=ParticipantFactory(
        workspace=workspace, first_name=name)) for name in ("Ada", "Alan"))
    outcomes = _invite_at_once(study, [(admin, first), (ops_manager, second)])
    assert sorted(outcomes)[1] == "invited"
    assert sorted(outcomes)[0].startswith("Participation limit reached")
    assert Application.objects.filter(study=study, status="invited").count() == 1
    assert OutboxOperation.objects.filter(operation="approve_applicant").count() == 1


def test_the_same_invite_twice_at_once_is_done_once(workspace, admin, ops_manager):
    study = StudyFactory(workspace=workspace, participation_limit=5)
    application = ApplicationFactory(study=study, participant=ParticipantFactory(
        workspace=workspace))
    outcomes = _invite_at_once(study, [(admin, application), (ops_manager, application)])
    assert sorted(outcomes) == ["Jordan P. is already invited.", "invited"]
    assert OutboxOperation.objects.count() == 1

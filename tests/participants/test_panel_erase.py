"""A privacy request: an Admin or Ops Manager erases a panel person's personal data; money and
activity stay under a pseudonym; an activity entry names who did it."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Payout
from participants.directory import person_erase, person_pseudonym
from participants.models import Contact, Participant
from rally import clock
from rally.models import ActivityEntry
from tests.participants.factories import ApplicationFactory, ParticipantFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(workspace):
    person = ParticipantFactory(
        workspace=workspace, kind="panel", ui_participant_id=None, first_name="Maya",
        last_name="Okafor", email="maya@customer.example", time_zone="America/New_York",
        properties={"job_title": "Product manager"})
    study = StudyFactory(workspace=workspace, source="rally_panel")
    application = ApplicationFactory(study=study, participant=person, ui_applicant_id=None)
    now = clock.now()
    Payout.objects.create(
        workspace=workspace, study_id=study.pk, study_name=study.name, session_id=uuid.uuid4(),
        application_id=application.pk, participant_label="Maya Okafor",
        amount=Decimal("40.00"), due_at=now, created_at=now, updated_at=now)
    Contact.objects.create(participant=person, study=study, kind=Contact.Kind.choices[0][0],
                           subject="Maya, join our study", sent_at=now, created_at=now)
    return person


def test_erasing_removes_personal_data_and_keeps_money_under_a_pseudonym(person, ops_manager,
                                                                        client_for):
    response = client_for(ops_manager).post(
        reverse("participants:person_erase", args=[person.pk]))
    assert response.status_code == 302
    person.refresh_from_db()
    pseudonym = person_pseudonym(person)
    assert (person.first_name, person.last_name, person.time_zone, person.properties) == (
        pseudonym, "", "", {})
    assert "maya" not in person.email and person.email.endswith("@erased.invalid")
    assert person.opted_out_at is not None  # never invited again
    assert Payout.objects.get().participant_label == pseudonym
    assert Payout.objects.get().amount == Decimal("40.00")
    assert Contact.objects.get().subject == "(erased)"
    assert person.applications.count() == 1
    entry = ActivityEntry.objects.get(action="participants.person_erased")
    assert entry.actor == ops_manager.user and pseudonym in entry.summary
    assert "Maya" not in entry.summary and "Okafor" not in entry.summary


def test_the_profile_offers_erase_once(person, admin, client_for):
    profile = reverse("participants:person_profile", args=[person.pk])
    client = client_for(admin)
    assert "Erase personal data" in client.get(profile).content.decode()
    person_erase(membership=admin, participant=person)
    page = client.get(profile).content.decode()
    assert "Erase personal data" not in page and "maya@customer.example" not in page


def test_erasing_twice_changes_nothing_more(person, admin):
    person_erase(membership=admin, participant=person)
    person_erase(membership=admin, participant=person)
    assert ActivityEntry.objects.filter(action="participants.person_erased").count() == 1


@pytest.mark.parametrize("persona", ["researcher", "observer"])
def test_only_admins_and_ops_managers_erase(persona, request, person, client_for):
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("participants:person_erase", args=[person.pk]))
    assert response.status_code == 403
    assert Participant.objects.get(pk=person.pk).first_name == "Maya"


def test_a_user_interviews_participant_or_another_workspaces_person_is_not_found(
        admin, client_for, workspace):
    external = ParticipantFactory(workspace=workspace)
    response = client_for(admin).post(
        reverse("participants:person_erase", args=[external.pk]))
    assert response.status_code == 404
    assert Participant.objects.get(pk=external.pk).first_name == "Jordan"

"""Consent on Rally-panel studies (SPEC P7): a versioned form on the plan, agreement on the
hosted screener (or the booking page) before booking, an append-only agreement row shown on
the profile and the Participants tab, and exported as CSV and as a signed PDF."""

import csv
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from panel import links
from participants import consent
from participants.models import Application, ConsentAgreement
from rally.models import ActivityEntry
from scheduling import services as scheduling
from scheduling.models import Session
from studies import lifecycle
from studies.models import ConsentVersion
from studies.services import study_update_plan
from tests.conftest import MONDAY_MORNING
from tests.panel.factories import PanelInvitationFactory, PanelStudyFactory
from tests.scheduling.factories import SchedulingSettingsFactory

pytestmark = pytest.mark.django_db

FIRST_TEXT = "I agree that Acme may record the session and use my answers for research."
SECOND_TEXT = FIRST_TEXT + " Recordings are deleted after 12 months."
#: 10:00 New York on Monday 1 June 2026, a time the booking page offers.
TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)



@pytest.fixture
def consent_study(workspace, researcher, frozen_clock):
    """An Active panel interview study whose plan has a consent form (version 1)."""
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user, name="Panel diary")
    study_update_plan(membership=researcher, study=study,
                      changes={"consent_form": FIRST_TEXT, "consent_required": True})
    study.refresh_from_db()
    SchedulingSettingsFactory(study=study)
    return study


def _screener_url(invitation):
    return reverse("panel:hosted_screener",
                   kwargs={"token": links.screener_token_make(invitation)})


def _booking_invitation(application):
    return scheduling.invitation_from_token(scheduling.booking_token_make(application))


# The form and its versions ------------------------------------------------------------------


def test_editing_the_consent_form_makes_a_new_version_and_keeps_the_old(consent_study,
                                                                        researcher):
    study_update_plan(membership=researcher, study=consent_study,
                      changes={"consent_form": FIRST_TEXT})  # unchanged: no new version
    study_update_plan(membership=researcher, study=consent_study,
                      changes={"consent_form": SECOND_TEXT})
    versions = list(ConsentVersion.objects.filter(study=consent_study).order_by("number")
                    .values_list("number", "text"))
    assert versions == [(1, FIRST_TEXT), (2, SECOND_TEXT)]
    assert ActivityEntry.objects.filter(
        study_id=consent_study.pk, action="study.plan_updated",
        summary__contains="consent form is now version 2").exists()


def test_consent_versions_are_append_only(consent_study):
    version = ConsentVersion.objects.get(study=consent_study)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentVersion.objects.filter(pk=version.pk).update(text="Something else")


def test_user_interviews_studies_refuse_require_consent(researcher, workspace):
    from tests.participants.factories import StudyFactory

    study = StudyFactory(workspace=workspace, owner=researcher.user)
    with pytest.raises(ValidationError) as refused:
        study_update_plan(membership=researcher, study=study,
                          changes={"consent_required": True})
    assert "User Interviews collects consent" in str(refused.value)
    study.refresh_from_db()
    assert study.consent_required is False


def test_plan_page_shows_the_require_consent_box_disabled_for_ui_studies(
        client_for, researcher, workspace):
    from tests.participants.factories import StudyFactory

    study = StudyFactory(workspace=workspace, owner=researcher.user)
    html = client_for(researcher).get(
        reverse("studies:study_plan", args=[study.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="consent_required"[^>]*disabled', html)
    assert "User Interviews collects consent from its own participants" in html


def test_plan_page_saves_require_consent_and_names_the_current_version(
        client_for, researcher, consent_study):
    client = client_for(researcher)
    url = reverse("studies:study_plan", args=[consent_study.pk])
    save = reverse("recruitment:study_plan_save", args=[consent_study.pk])
    response = client.post(save, {"name": consent_study.name, "study_type": "interview",
                                 "source": "rally_panel", "participation_limit": "5",
                                 "incentive_amount": "100.00", "consent_form": SECOND_TEXT,
                                 "consent_required": "on"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "Participants now agree to version 2" in html
    assert "Earlier versions (1)" in html


def test_a_study_requiring_consent_cannot_open_booking_without_a_form(workspace, researcher):
    draft = PanelStudyFactory(workspace=workspace, owner=researcher.user, status="draft",
                              consent_required=True)
    assert [p.field for p in lifecycle.publish_problems(draft)] == ["consent_form"]
    active = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                               consent_form=FIRST_TEXT, consent_required=True)
    with pytest.raises(ValidationError) as refused:
        study_update_plan(membership=researcher, study=active, changes={"consent_form": ""})
    assert "cannot open booking" in str(refused.value)
    active.refresh_from_db()
    assert active.consent_form == FIRST_TEXT


def test_booking_stays_closed_while_a_required_form_is_missing(workspace, researcher,
                                                               frozen_clock):
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user, consent_required=True)
    SchedulingSettingsFactory(study=study)
    invitation = PanelInvitationFactory(study=study)
    application = Application.objects.create(
        study=study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)
    with pytest.raises(scheduling.BookingRefused) as refused:
        scheduling.session_book(invitation=_booking_invitation(application), starts_at=TEN_NY)
    assert refused.value.message == consent.NOT_OPEN
    assert not Session.objects.exists()


# The hosted screener ----------------------------------------------------------------------


def test_the_screener_shows_the_form_and_refuses_to_start_without_agreement(client,
                                                                           consent_study):
    invitation = PanelInvitationFactory(study=consent_study)
    url = _screener_url(invitation)
    page = client.get(url).content.decode()
    assert "Consent form" in page and FIRST_TEXT in page
    assert "I have read the consent form and I agree to it" in page
    refused = client.post(url, {"action": "start"})
    assert refused.status_code == 400
    assert "tick “I agree”" in refused.content.decode()
    assert not Application.objects.exists() and not ConsentAgreement.objects.exists()


def test_agreeing_on_the_screener_records_who_which_version_and_when(client, consent_study):
    invitation = PanelInvitationFactory(study=consent_study)
    response = client.post(_screener_url(invitation),
                           {"action": "start", "consent_version": "1"})
    assert response.status_code == 200
    assert b"Thank you for applying" in response.content
    application = Application.objects.get(participant=invitation.participant)
    agreement = ConsentAgreement.objects.get()
    assert (agreement.participant_id, agreement.application_id, agreement.study_id) == (
        invitation.participant_id, application.pk, consent_study.pk)
    assert agreement.version_number == 1 and agreement.consent_version.text == FIRST_TEXT
    assert agreement.agreed_at == MONDAY_MORNING
    assert agreement.participant_email == invitation.participant.email
    assert agreement.channel == ConsentAgreement.Channel.SCREENER
    assert ActivityEntry.objects.filter(action="consent.agreed",
                                        study_id=consent_study.pk).count() == 1


def test_a_forged_version_number_is_refused_and_nothing_is_written(client, consent_study):
    invitation = PanelInvitationFactory(study=consent_study)
    response = client.post(_screener_url(invitation), {"action": "start",
                                                       "consent_version": "7"})
    assert response.status_code == 400
    assert not Application.objects.exists() and not ConsentAgreement.objects.exists()


def test_agreements_are_append_only(client, consent_study):
    invitation = PanelInvitationFactory(study=consent_study)
    client.post(_screener_url(invitation), {"action": "start", "consent_version": "1"})
    agreement = ConsentAgreement.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentAgreement.objects.filter(pk=agreement.pk).update(version_number=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentAgreement.objects.filter(pk=agreement.pk).delete()


def test_past_agreements_keep_their_version_after_an_edit(client, consent_study, researcher):
    first = PanelInvitationFactory(study=consent_study)
    client.post(_screener_url(first), {"action": "start", "consent_version": "1"})
    study_update_plan(membership=researcher, study=consent_study,
                      changes={"consent_form": SECOND_TEXT})
    second = PanelInvitationFactory(study=consent_study)
    page = client.get(_screener_url(second)).content.decode()
    assert "Version 2." in page and "deleted after 12 months" in page
    client.post(_screener_url(second), {"action": "start", "consent_version": "2"})
    numbers = dict(ConsentAgreement.objects.values_list("participant_id", "version_number"))
    assert numbers == {first.participant_id: 1, second.participant_id: 2}
    # The first person booked on version 1: editing the form does not lock them out.
    assert consent.consent_booking_problem(study=consent_study,
                                           participant=first.participant) == ""


# Booking ------------------------------------------------------------------------------------


def _invited_without_consent(study):
    invitation = PanelInvitationFactory(study=study)
    return Application.objects.create(
        study=study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)


def test_booking_is_refused_until_the_person_agrees(consent_study):
    application = _invited_without_consent(consent_study)
    with pytest.raises(scheduling.BookingRefused) as refused:
        scheduling.session_book(invitation=_booking_invitation(application), starts_at=TEN_NY)
    assert refused.value.message == consent.AGREE_FIRST
    assert not Session.objects.exists()
    scheduling.booking_consent_agree(invitation=_booking_invitation(application),
                                     version_number="1")
    session = scheduling.session_book(invitation=_booking_invitation(application),
                                      starts_at=TEN_NY)
    assert session.status == Session.Status.UPCOMING
    agreement = ConsentAgreement.objects.get(participant=application.participant)
    assert agreement.channel == ConsentAgreement.Channel.BOOKING_PAGE


def test_the_booking_page_asks_for_consent_before_offering_times(client, consent_study):
    application = _invited_without_consent(consent_study)
    url = scheduling.booking_url_for(application)
    page = client.get(url).content.decode()
    assert FIRST_TEXT in page and "Agree and choose a time" in page
    assert "Choose a time</h2>" not in page
    agreed = client.post(url, {"action": "consent", "consent_version": "1",
                               "time_zone": "America/New_York"})
    assert agreed.status_code == 302
    page = client.get(agreed["Location"]).content.decode()
    assert "Agree and choose a time" not in page and "Choose a time</h2>" in page


def test_agreeing_twice_keeps_one_row(consent_study):
    application = _invited_without_consent(consent_study)
    for _ in range(2):
        scheduling.booking_consent_agree(invitation=_booking_invitation(application),
                                         version_number="1")
    assert ConsentAgreement.objects.count() == 1
    assert ActivityEntry.objects.filter(action="consent.agreed").count() == 1


# Where agreements are shown and exported ---------------------------------------------------


@pytest.fixture
def agreed(client, consent_study):
    invitation = PanelInvitationFactory(study=consent_study,
                                        participant__first_name="Dana",
                                        participant__last_name="Wells",
                                        participant__email="dana@example.org")
    client.post(_screener_url(invitation), {"action": "start", "consent_version": "1"})
    return ConsentAgreement.objects.get(participant=invitation.participant)


def test_the_profile_shows_the_consent_with_its_version(client_for, observer, agreed):
    html = client_for(observer).get(
        reverse("participants:person_profile", args=[agreed.participant_id])).content.decode()
    row = re.search(rf'<tr id="consent-{agreed.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Panel diary" in row and "Version 1" in row and "Hosted screener" in row
    assert reverse("participants:consent_pdf", args=[agreed.pk]) in row


def test_the_participants_tab_shows_consent_per_person(client_for, researcher, agreed,
                                                       consent_study):
    html = client_for(researcher).get(
        reverse("participants:study_participants", args=[consent_study.pk])).content.decode()
    row = re.search(rf'<tr id="applicant-{agreed.application_id}">(.*?)</tr>', html,
                    re.S).group(1)
    assert ">v1</a>" in row
    assert "Export consent (CSV)" in html


def test_the_consent_csv_lists_every_agreement(client_for, researcher, agreed, consent_study):
    response = client_for(researcher).get(
        reverse("participants:consent_csv", args=[consent_study.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Participant", "Email", "Consent version"]
    assert rows[1][:3] == ["Dana Wells", "dana@example.org", "1"]
    assert rows[1][4] == MONDAY_MORNING.isoformat() and rows[1][6] == str(agreed.pk)


def test_the_signed_pdf_holds_the_text_agreed_to(client_for, researcher, agreed, tmp_path):
    response = client_for(researcher).get(
        reverse("participants:consent_pdf", args=[agreed.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdfinfo") and shutil.which("pdftotext"):
        path = tmp_path / "consent.pdf"
        path.write_bytes(response.content)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                              check=True).stdout
        assert re.search(r"^Tagged:\s+yes$", info, re.M)
        text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                       text=True, check=True).stdout.split())
        assert "Dana Wells" in text and "dana@example.org" in text
        assert " ".join(FIRST_TEXT.split()) in text


def test_another_workspace_gets_404_for_exports(client_for, outsider, agreed, consent_study):
    client = client_for(outsider)
    assert client.get(reverse("participants:consent_pdf", args=[agreed.pk])).status_code == 404
    assert client.get(reverse("participants:consent_csv",
                              args=[consent_study.pk])).status_code == 404


def test_invite_from_panel_refuses_a_study_requiring_a_missing_form(workspace, researcher):
    from panel.services import study_invite_problem

    study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                              consent_required=True)
    assert "requires consent" in study_invite_problem(study)
    study.consent_form = FIRST_TEXT
    assert study_invite_problem(study) == ""


def test_a_panel_study_without_consent_shows_no_consent_column(client_for, researcher,
                                                               workspace, frozen_clock):
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user)
    invitation = PanelInvitationFactory(study=study)
    Application.objects.create(
        study=study, participant=invitation.participant, status="applied",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)
    html = client_for(researcher).get(
        reverse("participants:study_participants", args=[study.pk])).content.decode()
    assert "Export consent (CSV)" not in html and 'class="col--consent"' not in html

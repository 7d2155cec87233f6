"""The Rally-hosted screener: signed links, one question at a time with logic, answers
checked, one application per person and study, automatic qualification, property mapping."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from panel import links, services
from participants.models import Application
from rally import clock
from rally.models import ActivityEntry
from rally.services import property_define
from studies.screeners.versions import screener_version_create
from tests.panel.factories import PanelInvitationFactory, ScreenerQuestionFactory

pytestmark = pytest.mark.django_db


def _choice(study, text, labels, position, **kwargs):
    options = [{"uid": f"{text[:3].lower()}-{n}", "label": label}
               for n, label in enumerate(labels)]
    return ScreenerQuestionFactory(study=study, type="single_choice", text=text,
                                   options=options, position=position, **kwargs)


@pytest.fixture
def screener(study):
    """Role (skip: Student → end; Manager qualifies; Student disqualifies), team size shown
    only to managers (qualifies from 5 to 50), then a free-text question."""
    role = _choice(study, "Role", ["Manager", "Engineer", "Student"], 0)
    size = ScreenerQuestionFactory(study=study, type="number", text="Team size", position=1,
                                   show_if={"questionUid": str(role.uid),
                                            "answerUids": ["rol-0"]},
                                   auto_rules={"min": 5, "max": 50})
    tools = ScreenerQuestionFactory(study=study, type="short_text", text="Tools", position=2,
                                    required=False)
    role.skip_logic = {"rol-2": "end"}
    role.auto_rules = {"qualify": ["rol-0"], "disqualify": ["rol-2"]}
    role.save()
    screener_version_create(study=study)
    return {"role": str(role.uid), "size": str(size.uid), "tools": str(tools.uid)}


@pytest.fixture
def invitation(study):
    return PanelInvitationFactory(study=study)


def _url(invitation):
    return reverse("panel:hosted_screener", kwargs={"token": links.screener_token_make(
        invitation)})


def _walk(client, url, steps):
    """Start, then answer each (question uid, [values]) in turn; returns the last response."""
    response = client.post(url, {"action": "start"})
    hidden, seen = {}, []
    for uid, values in steps:
        data = {"current": uid, "answer": values, "action": "next", "seen": list(seen)}
        data.update(hidden)
        response = client.post(url, data)
        if response.status_code == 200 and b"Thank you" not in response.content:
            hidden[f"a:{uid}"] = values
            seen.append(uid)
    return response


def test_qualified_applicant_is_invited_and_offered_a_booking_link(client, screener,
                                                                    invitation):
    response = _walk(client, _url(invitation), [(screener["role"], ["rol-0"]),
                                                (screener["size"], ["12"]),
                                                (screener["tools"], ["Figma"])])
    assert response.status_code == 200
    assert b"Thank you for applying" in response.content
    assert b"Choose a time" in response.content and b"/book/" in response.content
    application = Application.objects.get(participant=invitation.participant)
    assert application.status == "invited"
    assert application.source == "rally_panel"
    assert application.screener_version == 1
    assert application.screener_responses == [
        {"questionUid": screener["role"], "answerUids": ["rol-0"]},
        {"questionUid": screener["size"], "number": 12},
        {"questionUid": screener["tools"], "text": "Figma"}]
    invitation.refresh_from_db()
    assert invitation.application_id == application.pk
    assert ActivityEntry.objects.filter(action="panel.applied").count() == 1


def test_skip_logic_ends_the_screener_and_a_disqualifying_answer_marks_unqualified(
        client, screener, invitation):
    response = _walk(client, _url(invitation), [(screener["role"], ["rol-2"])])
    assert b"not a fit this time" in response.content
    application = Application.objects.get(participant=invitation.participant)
    assert (application.status, application.qualification) == ("unqualified", "unqualified")
    assert application.screener_responses == [{"questionUid": screener["role"],
                                               "answerUids": ["rol-2"]}]


def test_a_number_outside_the_range_disqualifies(client, screener, invitation):
    _walk(client, _url(invitation), [(screener["role"], ["rol-0"]), (screener["size"], ["500"]),
                                     (screener["tools"], [""])])
    assert Application.objects.get().status == "unqualified"


def test_conditional_question_is_skipped_and_no_rule_met_leaves_it_for_review(
        client, screener, invitation):
    response = _walk(client, _url(invitation), [(screener["role"], ["rol-1"]),
                                                (screener["tools"], [""])])
    assert b"will review your answers" in response.content
    application = Application.objects.get()
    assert application.status == "applied"
    assert [r["questionUid"] for r in application.screener_responses] == [screener["role"]]


@pytest.mark.parametrize(("answer", "message"), [
    ([], b"Answer this question to continue."),
    (["nope"], b"Choose one of the listed answers."),
])
def test_bad_answers_are_refused_with_a_message(client, screener, invitation, answer, message):
    url = _url(invitation)
    client.post(url, {"action": "start"})
    response = client.post(url, {"current": screener["role"], "answer": answer,
                                 "action": "next"})
    assert response.status_code == 400 and message in response.content
    assert not Application.objects.exists()


def test_a_forged_hidden_answer_is_checked_again_on_submit(client, screener, invitation):
    url = _url(invitation)
    response = client.post(url, {"current": screener["tools"], "answer": ["x"],
                                 "action": "next", f"a:{screener['role']}": "rol-0",
                                 f"a:{screener['size']}": "many"})
    assert response.status_code == 400
    assert b"Enter a number" in response.content
    assert not Application.objects.exists()


def test_one_submission_per_person_a_reused_link_changes_nothing(client, screener, invitation):
    url = _url(invitation)
    _walk(client, url, [(screener["role"], ["rol-1"]), (screener["tools"], ["A"])])
    response = client.get(url)
    assert b"You have already applied" in response.content
    response = _walk(client, url, [(screener["role"], ["rol-0"]), (screener["size"], ["9"]),
                                   (screener["tools"], ["B"])])
    assert b"You have already applied" in response.content
    application = Application.objects.get()
    assert application.status == "applied"
    assert application.screener_responses[-1] == {"questionUid": screener["tools"],
                                                  "text": "A"}


def test_the_service_refuses_a_second_application(screener, invitation):
    answers = {screener["role"]: ["rol-1"]}
    services.panel_application_submit(invitation_id=invitation.pk, answers=answers)
    with pytest.raises(services.AlreadyApplied):
        services.panel_application_submit(invitation_id=invitation.pk, answers=answers)
    assert Application.objects.count() == 1


def test_qualified_without_a_free_seat_waits_for_review(study, screener, invitation):
    study.participation_limit = 1
    study.save()
    from tests.participants.factories import ApplicationFactory

    ApplicationFactory(study=study, status="scheduled")
    submitted = services.panel_application_submit(
        invitation_id=invitation.pk, answers={screener["role"]: ["rol-0"],
                                              screener["size"]: "10"})
    assert submitted.application.status == "applied"
    assert submitted.booking_url == ""


def test_forged_link_answers_a_friendly_404(client):
    response = client.get(reverse("panel:hosted_screener", kwargs={"token": "forged-token"}))
    assert response.status_code == 404
    assert b"This link cannot be used" in response.content


def test_a_link_signed_for_another_purpose_is_refused(client, invitation):
    token = signing.dumps({"invitation": str(invitation.pk)}, salt="panel.unsubscribe")
    response = client.get(reverse("panel:hosted_screener", kwargs={"token": token}))
    assert response.status_code == 404
    token = signing.dumps({"invitation": str(uuid.uuid4())}, salt=links.SCREENER_SALT)
    assert client.get(reverse("panel:hosted_screener", kwargs={"token": token})
                      ).status_code == 404


def test_expired_link_says_so(client, invitation):
    url = _url(invitation)
    with time_machine.travel(clock.now() + timedelta(days=61)):
        response = client.get(url)
    assert response.status_code == 410
    assert b"This link has expired" in response.content


def test_opted_out_or_closed_study_takes_no_application(client, study, screener, invitation):
    study.status = "closed"
    study.save()
    response = client.get(_url(invitation))
    assert b"not taking applications" in response.content
    with pytest.raises(services.ApplicationRefused):
        services.panel_application_submit(invitation_id=invitation.pk,
                                          answers={screener["role"]: ["rol-1"]})


def test_empty_screener_applies_with_one_click(client, study, invitation):
    response = client.get(_url(invitation))
    assert b"Apply" in response.content
    response = client.post(_url(invitation), {"action": "start"})
    assert b"Thank you for applying" in response.content
    assert Application.objects.get().status == "applied"


def test_mapped_answers_update_the_persons_properties(workspace, study, invitation):
    property_define(workspace=workspace, key="company_size", label="Company size",
                    type="single_select", options=["1-50", "51-200"])
    property_define(workspace=workspace, key="team_size", label="Team size", type="number")
    property_define(workspace=workspace, key="job_title", label="Job title", type="text")
    size = _choice(study, "Company", ["51-200", "Huge"], 0, property_key="company_size")
    team = ScreenerQuestionFactory(study=study, type="number", text="Team", position=1,
                                   property_key="team_size")
    title = ScreenerQuestionFactory(study=study, type="short_text", text="Title", position=2,
                                    property_key="job_title")
    screener_version_create(study=study)
    services.panel_application_submit(invitation_id=invitation.pk, answers={
        str(size.uid): ["com-0"], str(team.uid): "7", str(title.uid): "Designer"})
    person = invitation.participant
    person.refresh_from_db()
    assert person.properties == {"company_size": "51_200", "team_size": 7,
                                 "job_title": "Designer"}
    assert ActivityEntry.objects.filter(action="participants.properties_updated").exists()


def test_an_answer_the_property_cannot_hold_is_left_out(workspace, study, invitation):
    property_define(workspace=workspace, key="company_size", label="Company size",
                    type="single_select", options=["1-50"])
    size = _choice(study, "Company", ["51-200", "Huge"], 0, property_key="company_size")
    screener_version_create(study=study)
    submitted = services.panel_application_submit(invitation_id=invitation.pk,
                                                  answers={str(size.uid): ["com-1"]})
    assert submitted.application.pk
    invitation.participant.refresh_from_db()
    assert invitation.participant.properties == {}



def test_qualified_applicant_gets_the_booking_link_by_email_once(screener, invitation,
                                                                 committed):
    from django.core import mail

    from participants.models import Contact

    committed(services.panel_application_submit, invitation_id=invitation.pk,
              answers={screener["role"]: ["rol-0"], screener["size"]: "10"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Choose a time")
    assert "/book/" in mail.outbox[0].body and "/p/unsubscribe/" in mail.outbox[0].body
    assert services.booking_email_send(invitation_id=invitation.pk) is False
    assert Contact.objects.filter(kind="booking_link").count() == 1


def test_an_applicant_a_reviewer_invites_gets_the_booking_link_from_the_sweeper(
        study, screener, invitation, researcher):
    from django.core import mail

    from panel import tasks
    from participants.services import applicant_invite

    submitted = services.panel_application_submit(invitation_id=invitation.pk,
                                                  answers={screener["role"]: ["rol-1"]})
    applicant_invite(membership=researcher, study=study, application_id=submitted.application.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=2)):
        tasks.booking_emails_sweep()
        tasks.booking_emails_sweep()
    assert [m.subject for m in mail.outbox] == [f"Choose a time: {study.participant_title}"]


def test_control_characters_in_text_answers_are_dropped(screener, invitation):
    submitted = services.panel_application_submit(
        invitation_id=invitation.pk,
        answers={screener["role"]: ["rol-1"], screener["tools"]: "Fig\x00ma\x07"})
    assert submitted.application.screener_responses[-1] == {
        "questionUid": screener["tools"], "text": "Figma"}

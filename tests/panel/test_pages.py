"""The "Invite from panel" tab: filters, counts, governance flags, roles, other workspaces."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from panel.models import PanelInvitation
from participants.directory import contact_record
from participants.models import Contact, Segment
from rally import clock
from rally.services import property_define
from tests.panel.factories import PanelStudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(study):
    return reverse("panel:study_invite", kwargs={"study_id": study.id})


@pytest.fixture
def panel(workspace, person):
    property_define(workspace=workspace, key="role", label="Role", type="single_select",
                    options=["Designer", "Engineer"])
    return {
        "ana": person(first_name="Ana", last_name="Lopez", properties={"role": "designer"}),
        "ben": person(first_name="Ben", last_name="Okafor", properties={"role": "designer"}),
        "cy": person(first_name="Cy", last_name="Park", properties={"role": "engineer"}),
        "dee": person(first_name="Dee", last_name="Gone", properties={"role": "designer"},
                      opted_out_at=clock.now()),
    }


def test_tab_lists_people_with_flags_and_invites_them(client_for, researcher, study, url,
                                                      panel, django_capture_on_commit_callbacks):
    recent = contact_record(participant=panel["ben"], study=None, kind="invitation",
                            subject="Earlier", sent_by=None)
    Contact.objects.filter(pk=recent.pk).update(sent_at=clock.now() - timedelta(days=2))
    page = client_for(researcher).get(url, {"property": "role", "op": "eq",
                                            "value": "Designer"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Invite from panel" in text
    assert "3</strong> people match" in text
    assert "Opted out" in text and "Contacted 2 days ago" in text
    assert "Invite 1 participant" in text
    assert "Cy Park" not in text
    assert "Override the contact rules" not in text  # researchers can't override
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(researcher).post(url, {"property": "role", "op": "eq",
                                                     "value": "Designer"})
    assert response.status_code == 302
    assert [i.participant_id for i in PanelInvitation.objects.all()] == [panel["ana"].pk]
    assert [m.to for m in mail.outbox] == [[panel["ana"].email]]


def test_admin_override_needs_a_reason_on_the_page(client_for, admin, study, url, panel):
    recent = contact_record(participant=panel["ben"], study=None, kind="invitation",
                            subject="Earlier", sent_by=None)
    Contact.objects.filter(pk=recent.pk).update(sent_at=clock.now() - timedelta(days=2))
    page = client_for(admin).get(url, {"q": "Ben"})
    assert "Override and invite 1 participant" in page.content.decode()
    response = client_for(admin).post(url, {"q": "Ben", "override": "1",
                                            "override_reason": ""})
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    assert not PanelInvitation.objects.exists()
    response = client_for(admin).post(url, {"q": "Ben", "override": "1",
                                            "override_reason": "Asked to take part"})
    assert response.status_code == 302
    assert PanelInvitation.objects.get().override_reason == "Asked to take part"


def test_segment_filter(client_for, researcher, workspace, url, panel):
    segment = Segment.objects.create(workspace=workspace, name="Engineers",
                                     filters={"q": "", "rules": [{"property": "role",
                                                                  "op": "eq",
                                                                  "value": "engineer"}]},
                                     created_at=clock.now())
    text = client_for(researcher).get(url, {"segment": segment.pk}).content.decode()
    assert "Cy Park" in text and "Ana Lopez" not in text and "1</strong> person matches" in text


@pytest.mark.parametrize("params", [
    {"property": "nope", "op": "eq", "value": "x"},
    {"property": "role", "op": "gt", "value": "x"},
    {"segment": "not-a-uuid"},
])
def test_a_bad_filter_says_why_and_lists_nobody(client_for, researcher, url, panel, params):
    response = client_for(researcher).get(url, params)
    assert response.status_code == 200
    assert "The filter can't be used" in response.content.decode()
    response = client_for(researcher).post(url, params)
    assert response.status_code == 400
    assert not PanelInvitation.objects.exists()


def test_observer_sees_the_tab_but_cannot_invite(client_for, observer, url, panel):
    page = client_for(observer).get(url)
    assert page.status_code == 200 and b"Invite 3 participants" not in page.content
    assert client_for(observer).post(url).status_code == 403
    assert not PanelInvitation.objects.exists()


def test_another_workspace_gets_404(client_for, outsider, url):
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url).status_code == 404


def test_user_interviews_studies_have_no_panel_tab(client_for, researcher, workspace):
    ui_study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                                 source="user_interviews")
    overview = client_for(researcher).get(reverse("studies:study_overview",
                                                  kwargs={"study_id": ui_study.id}))
    assert b"Invite from panel" not in overview.content
    assert client_for(researcher).get(reverse("panel:study_invite", kwargs={
        "study_id": ui_study.id})).status_code == 404


def test_overview_shows_the_panel_card(client_for, researcher, study):
    overview = client_for(researcher).get(reverse("studies:study_overview",
                                                  kwargs={"study_id": study.id}))
    assert b"Rally panel" in overview.content and b"Invite from panel" in overview.content


def test_the_list_takes_a_fixed_number_of_queries(client_for, researcher, url, person,
                                                  django_assert_max_num_queries):
    client = client_for(researcher)
    for _ in range(3):
        person()
    client.get(url)
    for _ in range(30):
        person()
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert "33</strong> people match" in response.content.decode()


def test_researchers_cannot_filter_by_a_pii_property(client_for, researcher, admin, workspace,
                                                     url, panel):
    property_define(workspace=workspace, key="phone", label="Phone", type="text", is_pii=True)
    params = {"property": "phone", "op": "is_set"}
    page = client_for(researcher).get(url)
    assert b'value="phone"' not in page.content
    refused = client_for(researcher).get(url, params).content.decode()
    assert "personal (PII) properties" in refused
    assert "personal (PII)" not in client_for(admin).get(url, params).content.decode()


@pytest.mark.parametrize(("role", "on_team", "can_invite"), [
    ("admin", False, True), ("ops_manager", False, True), ("researcher", True, True),
    ("researcher", False, False), ("observer", True, False),
])
def test_who_may_invite(client_for, personas, workspace, admin, role, on_team, can_invite,
                        person):
    membership = personas[role]
    study = PanelStudyFactory(workspace=workspace, owner=admin.user)
    if on_team:
        study.team.add(membership.user)
    person(first_name="Ana")
    url = reverse("panel:study_invite", kwargs={"study_id": study.id})
    page = client_for(membership).get(url)
    assert page.status_code == 200
    assert (b"Invite 1 participant" in page.content) is can_invite
    response = client_for(membership).post(url)
    assert response.status_code == (302 if can_invite else 403)
    assert PanelInvitation.objects.filter(study=study).exists() is can_invite


def test_nul_bytes_and_control_characters_are_no_500(client_for, admin, url, panel):
    response = client_for(admin).get(url, {"q": "a\x00b", "property": "role\x00",
                                           "op": "eq\x01", "value": "\x00"})
    assert response.status_code == 200
    response = client_for(admin).post(url, {"q": "Ben\x00", "override": "1",
                                            "override_reason": "\x00"})
    assert response.status_code == 400
    assert not PanelInvitation.objects.exists()

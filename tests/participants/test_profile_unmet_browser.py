"""In Chromium: an unqualified applicant's profile says which is their answer and which the
study's requirement, and shows the properties their screener answers filled."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from rally import clock
from rally.services import property_define
from studies.models import Characteristic, CharacteristicChoice
from tests.e2e import flow
from tests.participants.factories import ApplicationFactory, ParticipantFactory, StudyFactory
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unmet_criterion_names_answer_and_requirement(live_server, page, workspace,
                                                      researcher):
    characteristic = Characteristic.objects.create(
        slug="job_function", name="Job function", category="professional",
        type="multi_select", synced_at=clock.now())
    for external_id, label in (("teaching", "Teaching"), ("engineering", "Engineering")):
        CharacteristicChoice.objects.create(characteristic=characteristic,
                                            external_id=external_id, label=label)
    property_define(workspace=workspace, key="manages_team", label="Manages a team",
                    type="boolean")
    study = StudyFactory(workspace=workspace, owner=researcher.user,
                         criteria=[{"characteristic": "job_function",
                                    "values": ["engineering"]}])
    person = ParticipantFactory(workspace=workspace, first_name="Hana", last_initial="T",
                                properties={"manages_team": True})
    application = ApplicationFactory(
        study=study, participant=person, status="unqualified", source="direct_link",
        unmet_criteria=[{"characteristic": "job_function", "values": ["teaching"]}])
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, researcher)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    page.goto(live_server.url + reverse("participants:applicant_profile",
                                        args=[study.id, application.id]))
    unmet = page.locator(".criteria--unmet li")
    expect(unmet).to_contain_text("Job function")
    expect(unmet.locator("div").filter(has_text="Their answer")).to_have_text(
        re.compile(r"Their answer\s*Teaching"))
    expect(unmet.locator("div").filter(has_text="The study asks for")).to_have_text(
        re.compile(r"The study asks for\s*Engineering"))
    properties = page.get_by_role("region", name="Properties")
    expect(properties).to_contain_text("Manages a team")
    expect(properties).to_contain_text("Yes")
    screenshot(page, "profile-unmet", widths=(1366, 390))

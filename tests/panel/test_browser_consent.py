"""Consent in Chromium: a panel person opens the screener link, is refused without ticking
"I agree", agrees, qualifies and books; the researcher sees the agreement with its version
on the person's profile."""

import re

import pytest
from playwright.sync_api import expect

from panel import links
from participants.models import ConsentAgreement
from scheduling.models import Session, SessionReminder
from scheduling.services import scheduling_settings_ensure
from tests.e2e import flow
from tests.panel.factories import (
    PanelInvitationFactory,
    PanelStudyFactory,
    ScreenerQuestionFactory,
)

CONSENT = "I agree that Acme may record this interview and use my answers for research."


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Berlin"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agree_to_consent_then_book_and_see_it_on_the_profile(live_server, page, settings,
                                                              workspace, researcher):
    settings.RALLY_BASE_URL = live_server.url
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                              name="Diary interviews", consent_form=CONSENT,
                              consent_required=True)
    study.consent_versions.create(number=1, text=CONSENT, created_at=study.created_at)
    ScreenerQuestionFactory(study=study, type="single_choice", text="Do you keep a diary?",
                            position=0, options=[{"uid": "yes", "label": "Yes"},
                                                 {"uid": "no", "label": "No"}],
                            auto_rules={"qualify": ["yes"], "disqualify": ["no"]})
    scheduling_settings_ensure(study=study)
    invitation = PanelInvitationFactory(study=study, participant__first_name="Dana",
                                        participant__last_name="Wells")

    page.goto(links.screener_url_for(invitation))
    expect(page.get_by_role("heading", name="Consent form")).to_be_visible()
    expect(page.get_by_role("document", name="Consent form text")).to_contain_text(CONSENT)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_contain_text("tick “I agree” to go on")
    page.get_by_label("I have read the consent form and I agree to it").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Thank you for applying")).to_be_visible()
    page.get_by_role("link", name="Choose a time").click()
    page.wait_for_url(re.compile(r"tz=Europe%2FBerlin"))
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Book").click()
    page.get_by_text("Your session is booked.").wait_for()

    agreement = ConsentAgreement.objects.get(participant=invitation.participant)
    assert agreement.version_number == 1
    session = Session.objects.get(application__participant=invitation.participant)
    assert SessionReminder.objects.filter(session=session, state="pending").exists()

    page.context.clear_cookies()
    flow.sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/participants/{invitation.participant_id}/")
    row = page.locator(f"#consent-{agreement.pk}")
    expect(row).to_contain_text("Diary interviews")
    expect(row).to_contain_text("Version 1")
    expect(row.get_by_role("link", name=re.compile("Signed consent"))).to_be_visible()

"""The panel's pages pass axe-core's WCAG 2.x A/AA checks (serious and critical), signed in
and as a panel person opening their email's links."""

from datetime import timedelta

import pytest
from django.urls import reverse

from panel import links
from participants.directory import contact_record
from participants.models import Contact
from rally import clock
from tests.e2e import flow
from tests.panel.factories import PanelInvitationFactory, ScreenerQuestionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": True}  # lets the test inject axe


def test_panel_pages_have_no_serious_accessibility_violations(live_server, page, study, admin,
                                                             person, axe_violations):
    ScreenerQuestionFactory(study=study, type="single_choice", text="Which plan?",
                            position=0, options=[{"uid": "a", "label": "Free"},
                                                 {"uid": "b", "label": "Pro"}])
    flagged = person(first_name="Flo")
    contact = contact_record(participant=flagged, study=None, kind="invitation",
                             subject="Earlier", sent_by=None)
    Contact.objects.filter(pk=contact.pk).update(sent_at=clock.now() - timedelta(days=1))
    person(first_name="Gus", opted_out_at=clock.now())
    invitation = PanelInvitationFactory(study=study, participant=person(first_name="Hal"))
    screener = reverse("panel:hosted_screener",
                       kwargs={"token": links.screener_token_make(invitation)})
    unsubscribe = reverse("panel:unsubscribe",
                          kwargs={"token": links.unsubscribe_token_make(invitation.participant)})

    problems = {}
    for name, path in (("screener start", screener), ("unsubscribe", unsubscribe),
                       ("forged link", reverse("panel:hosted_screener",
                                               kwargs={"token": "forged"}))):
        page.goto(live_server.url + path)
        problems[name] = axe_violations(page)
    page.goto(live_server.url + screener)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Next").click()  # unanswered: the error is shown
    problems["screener question with an error"] = axe_violations(page)

    flow.sign_in(page, live_server, admin)
    page.wait_for_url(lambda url: "/login/" not in url)
    for name, path in (
            ("invite from panel", reverse("panel:study_invite", kwargs={"study_id": study.id})),
            ("panel rules", reverse("panel:rules")),
            ("overview", reverse("studies:study_overview", kwargs={"study_id": study.id})),
            ("screener editor", reverse("studies:study_screener",
                                        kwargs={"study_id": study.id}))):
        page.goto(live_server.url + path)
        problems[name] = axe_violations(page)
    # The preview shows the question with the same markup as the hosted screener.
    page.goto(live_server.url + reverse("studies:screener_preview",
                                        kwargs={"study_id": study.id}))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("alert").filter(has_text="Answer this question").wait_for()
    problems["screener preview question with an error"] = axe_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}

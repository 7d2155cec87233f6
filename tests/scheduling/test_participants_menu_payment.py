""""Complete & Send payment" in the Participants tab's row menu for Interview and Group
Interview studies (SPEC I1): offered once the session has ended and its incentive is not
sent, it posts to the Scheduling tab's own view and service, comes back to the Participants
tab and pays once."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import Payout
from participants.models import Application
from rally import clock
from scheduling import services
from scheduling.models import Session
from tests.a11y.conftest import (  # noqa: F401 - axe in the browser test
    axe_source,
    axe_violations,
    browser_context_args,
)
from tests.billing.payouts_support import charges, ended_session, funded_ui_study
from tests.e2e import flow
from tests.participants.factories import ApplicationFactory, ParticipantFactory

ITEM = "Complete &amp; Send payment"


@pytest.fixture
def study(admin):
    return funded_ui_study(admin, limit=60)


def _person(study, first_name, status="scheduled"):
    participant = ParticipantFactory(workspace=study.workspace, first_name=first_name,
                                     last_initial="T")
    return ApplicationFactory(study=study, participant=participant, status=status)


def tab(study):
    return reverse("participants:study_participants", args=[study.pk])


def pay_url(session):
    return reverse("scheduling:session_complete_and_pay", args=[session.pk])


def page(client, study, query=""):
    response = client.get(tab(study) + query)
    assert response.status_code == 200
    return response.content.decode()


def _menu_of(html, application):
    """The row's three-dots menu markup."""
    start = html.index(f'id="actions-menu-{application.pk}"')
    return html[start:html.index("</ul>", start)]


@pytest.mark.django_db
def test_the_item_is_offered_only_once_the_session_has_ended(study, admin, client_for):
    later = ended_session(study, ended=-timedelta(hours=2),
                          application=_person(study, "Later"))
    ended = ended_session(study, application=_person(study, "Ended"))
    html = page(client_for(admin), study)
    assert ITEM not in _menu_of(html, later.application)
    menu = _menu_of(html, ended.application)
    assert ITEM in menu and pay_url(ended) in menu
    assert "Send Ended T.&#x27;s incentive of $100.00 now?" in menu
    assert html.count(f">{ITEM}<") == 1


@pytest.mark.django_db
def test_a_completed_session_not_yet_paid_is_offered_and_says_so(study, admin,
                                                                 client_for):
    session = ended_session(study, application=_person(study, "Marked"))
    services.session_mark(membership=admin, session_id=session.pk, status="completed")
    assert Payout.objects.get(session_id=session.pk).state == "not_sent"
    html = page(client_for(admin), study)
    assert ITEM in _menu_of(html, session.application)
    assert "Payment: Not sent" in html


@pytest.mark.django_db
def test_no_show_canceled_and_paid_sessions_are_not_offered(study, admin, client_for):
    no_show = ended_session(study, application=_person(study, "Absent"))
    services.session_mark(membership=admin, session_id=no_show.pk, status="no_show")
    canceled = ended_session(study, application=_person(study, "Gone", status="canceled"))
    Session.objects.filter(pk=canceled.pk).update(status="canceled")
    paid = ended_session(study, application=_person(study, "Paid"))
    services.session_complete_and_pay(membership=admin, session_id=paid.pk)
    html = page(client_for(admin), study)
    assert ITEM not in html
    assert "Payment: Sending" in _row_of(html, paid.application)


def _row_of(html, application):
    start = html.index(f'id="applicant-{application.pk}"')
    return html[start:html.index("</tr>", start)]


@pytest.mark.django_db
def test_posting_twice_pays_once_and_returns_to_the_participants_tab(study, admin,
                                                                    client_for):
    session = ended_session(study, application=_person(study, "Twice"))
    client = client_for(admin)
    back = tab(study) + "?status=scheduled"
    responses = [client.post(pay_url(session), {"next": back}) for _ in range(2)]
    assert [r.status_code for r in responses] == [302, 302]
    assert all(r["Location"] == back for r in responses)
    assert [str(m) for m in get_messages(responses[0].wsgi_request)] == [
        "Session completed. The payment is on its way."]
    session.refresh_from_db()
    assert session.status == "completed"
    assert Payout.objects.filter(session_id=session.pk).count() == 1
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert charges(study) == (1, 1, 0)  # one fee, one incentive
    assert Application.objects.get(pk=session.application_id).status == "completed"
    html = page(client, study)
    assert ITEM not in html
    assert "Payment: Sending" in _row_of(html, session.application)


@pytest.mark.django_db
def test_only_the_participants_tab_is_a_place_to_come_back_to(study, admin, client_for):
    session = ended_session(study, application=_person(study, "Elsewhere"))
    response = client_for(admin).post(pay_url(session),
                                           {"next": "https://evil.example/"})
    assert response["Location"] == reverse("scheduling:study_scheduling", args=[study.pk])
    assert charges(study) == (1, 1, 0)


@pytest.mark.django_db
def test_group_interview_participants_are_offered_too(admin, client_for):
    study = funded_ui_study(admin, study_type="group_interview")
    session = ended_session(study, application=_person(study, "Grouped"))
    html = page(client_for(admin), study)
    assert ITEM in _menu_of(html, session.application)
    client_for(admin).post(pay_url(session), {"next": tab(study)})
    assert Payout.objects.get(session_id=session.pk).state == "sending"


@pytest.mark.django_db
def test_observers_are_refused_and_other_workspaces_see_nothing(study, observer, outsider,
                                                               client_for):
    session = ended_session(study, application=_person(study, "Guarded"))
    assert ITEM not in page(client_for(observer), study)
    assert client_for(observer).post(pay_url(session), {"next": tab(study)}).status_code == 403
    assert client_for(outsider).post(pay_url(session), {"next": tab(study)}).status_code == 404
    assert client_for(outsider).get(tab(study)).status_code == 404
    assert not Payout.objects.exists()
    session.refresh_from_db()
    assert session.status == "upcoming"


@pytest.mark.django_db
def test_panel_studies_get_no_payment_item(admin, client_for):
    study = funded_ui_study(admin, source="rally_panel")
    ended_session(study, application=_person(study, "Panel"))
    assert ITEM not in page(client_for(admin), study)


def _sessions(study, count, start):
    """`count` people whose sessions ended, in every state the menu cares about."""
    now = clock.now()
    states = [("scheduled", "upcoming"), ("completed", "completed"),
              ("no_show", "no_show"), ("canceled", "canceled")]
    for n in range(start, start + count):
        status, session_status = states[n % len(states)]
        application = _person(study, f"Person{n}", status=status)
        Session.objects.create(workspace=study.workspace, study=study, application=application,
                               host=study.owner, status=session_status,
                               starts_at=now - timedelta(minutes=61 * (n + 1) + 60),
                               ends_at=now - timedelta(minutes=61 * (n + 1)),
                               created_at=now, updated_at=now, status_changed_at=now)


@pytest.mark.django_db
def test_the_participants_tab_reads_as_many_queries_with_5_and_50_people(study, admin,
                                                                        client_for):
    client = client_for(admin)

    def measured():
        with CaptureQueriesContext(connection) as captured:
            html = page(client, study)
        return len(captured), html

    _sessions(study, 5, 0)
    page(client, study)  # warm the per-request caches once
    small, html = measured()
    assert html.count(f">{ITEM}<") == 3  # two Upcoming, one Completed; no No-show or Canceled
    _sessions(study, 45, 5)
    large, html = measured()
    assert html.count(f">{ITEM}<") == 26
    assert large == small


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_researcher_completes_and_pays_from_the_participants_tab(live_server, page, admin,
                                                                researcher, axe_violations):  # noqa: F811
    study = funded_ui_study(admin, name="Checkout interviews")
    study.owner = researcher.user  # the researcher runs this study
    study.save(update_fields=["owner"])
    session = ended_session(study, application=_person(study, "Rosa"))
    ended_session(study, application=_person(study, "Sam"), ended=-timedelta(hours=3))
    browser = page
    browser.set_viewport_size({"width": 1280, "height": 900})
    flow.sign_in(browser, live_server, researcher)
    browser.goto(f"{live_server.url}{tab(study)}")
    expect(browser.get_by_role("heading", name="Participants")).to_be_visible()

    browser.get_by_role("button", name="Actions for Sam T.").click()
    expect(browser.get_by_role("menuitem", name="View profile")).to_be_visible()
    expect(browser.get_by_role("menuitem", name="Complete & Send payment")).to_have_count(0)
    browser.keyboard.press("Escape")

    browser.get_by_role("button", name="Actions for Rosa T.").click()
    item = browser.get_by_role("menuitem", name="Complete & Send payment")
    expect(item).to_be_visible()
    assert axe_violations(browser) == []
    item.click()
    # Rally's own dialog (never the browser's confirm()), with the amount at stake.
    confirm = browser.get_by_role("dialog", name="Send Rosa T.'s incentive of $100.00 now?")
    expect(confirm).to_be_visible()
    assert axe_violations(browser) == []
    confirm.get_by_role("button", name="Complete & Send payment").click()
    expect(browser.get_by_role("status")).to_contain_text(
        "Session completed. The payment is on its way.")
    expect(browser.get_by_role("heading", name="Participants")).to_be_visible()
    row = browser.locator("tr", has_text="Rosa T.")
    expect(row.locator(".badge")).to_have_text("Completed")
    expect(row).to_contain_text("Payment: Sending")
    assert axe_violations(browser) == []
    browser.get_by_role("button", name="Actions for Rosa T.").click()
    expect(browser.get_by_role("menuitem", name=re.compile("Complete"))).to_have_count(0)
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert charges(study) == (1, 1, 0)

""""Record incentive" in the Participants tab's row menu of a Rally-panel study: offered for
a panel participant whose session was completed and whose incentive is not recorded, it
opens the Invite tab's own form, which records once."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Transfer
from billing.services import budget_add_funds, budget_default_ensure
from participants.models import Application
from rally import clock
from scheduling.models import Session
from tests.panel.factories import PanelPersonFactory

pytestmark = pytest.mark.django_db

ITEM = ">Record incentive</a>"


@pytest.fixture
def budget(workspace, admin):
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds(membership=admin, budget=budget, amount=Decimal("5000.00"),
                     reference="PO-8", key=uuid.uuid4())
    return budget


def _panel_person(study, first_name, *, status="completed", session_status="completed",
                  hours_ago=1):
    person = PanelPersonFactory(workspace=study.workspace, first_name=first_name,
                                last_name="Park")
    now = clock.now()
    application = Application.objects.create(
        study=study, participant=person, status=status, source="rally_panel",
        applied_at=now, created_at=now, updated_at=now)
    if session_status:
        Session.objects.create(workspace=study.workspace, study=study, application=application,
                               host=study.owner, status=session_status,
                               starts_at=now - timedelta(minutes=61 * hours_ago + 60),
                               ends_at=now - timedelta(minutes=61 * hours_ago),
                               created_at=now, updated_at=now, status_changed_at=now)
    return application


def tab(study):
    return reverse("participants:study_participants", args=[study.pk])


def form_url(study, application):
    return reverse("panel:incentive_record", args=[study.pk, application.pk])


def _menu_of(html, application):
    start = html.index(f'id="actions-menu-{application.pk}"')
    return html[start:html.index("</ul>", start)]


def test_the_item_is_offered_for_a_completed_panel_participant_only(study, researcher,
                                                                    client_for):
    done = _panel_person(study, "Dana")
    booked = _panel_person(study, "Eli", status="scheduled", session_status="upcoming",
                           hours_ago=3)
    html = client_for(researcher).get(tab(study)).content.decode()
    menu = _menu_of(html, done)
    assert ITEM in menu and form_url(study, done) in menu
    assert 'aria-label="Record incentive for Dana Park"' in menu
    assert ITEM not in _menu_of(html, booked)
    assert html.count(ITEM) == 1
    assert "Complete &amp; Send payment" not in html  # UI pays only UI studies' people


def test_the_item_opens_the_form_that_records_once(study, researcher, budget, client_for):
    done = _panel_person(study, "Dana")
    client = client_for(researcher)
    assert client.get(form_url(study, done)).status_code == 200
    data = {"amount": "75.00", "method": "gift_card", "reference": "GC-9",
            "budget": str(budget.pk)}
    responses = [client.post(form_url(study, done), data) for _ in range(2)]
    assert responses[0].status_code == 302
    assert Transfer.objects.filter(study_id=study.pk).count() == 1
    assert Transfer.objects.get(study_id=study.pk).amount == Decimal("75.00")
    done.refresh_from_db()
    assert done.status == "paid"
    assert ITEM not in client.get(tab(study)).content.decode()


def test_observers_are_not_offered_it(study, observer, client_for):
    _panel_person(study, "Dana")
    html = client_for(observer).get(tab(study)).content.decode()
    assert ITEM not in html


def test_the_participants_tab_reads_as_many_queries_with_5_and_50_panel_people(
        study, researcher, budget, client_for):
    client = client_for(researcher)

    def measured():
        with CaptureQueriesContext(connection) as captured:
            html = client.get(tab(study)).content.decode()
        return len(captured), html

    def add(start, count):
        for n in range(start, start + count):
            _panel_person(study, f"Person{n}", hours_ago=n + 1)

    add(0, 5)
    client.get(tab(study))
    small, html = measured()
    assert html.count(ITEM) == 5
    add(5, 45)
    large, html = measured()
    assert html.count(ITEM) == 50
    assert large == small


def _record_data(budget):
    return {"amount": "75.00", "method": "gift_card", "reference": "", "budget": str(budget.pk)}


def test_from_the_participants_tab_it_returns_to_the_same_filtered_page(study, researcher,
                                                                        budget, client_for):
    done = _panel_person(study, "Dana")
    client = client_for(researcher)
    origin = f"{tab(study)}?status=completed"
    html = client.get(origin).content.decode()
    assert f"{form_url(study, done)}?next=%2Fstudies%2F" in _menu_of(html, done)
    form = client.get(form_url(study, done), {"next": origin}).content.decode()
    assert f'name="next" value="{origin}"' in form
    response = client.post(form_url(study, done), {**_record_data(budget), "next": origin})
    assert response.status_code == 302 and response["Location"] == origin


def test_from_the_invite_tab_it_returns_to_the_invite_tab(study, researcher, budget,
                                                          client_for):
    done = _panel_person(study, "Dana")
    client = client_for(researcher)
    invite = reverse("panel:study_invite", args=[study.pk])
    html = client.get(invite).content.decode()
    assert f"{form_url(study, done)}?next={invite.replace('/', '%2F')}" in html
    response = client.post(form_url(study, done), {**_record_data(budget), "next": invite})
    assert response.status_code == 302 and response["Location"] == invite


@pytest.mark.parametrize("foreign", ["https://evil.example/", "//evil.example/x",
                                     "/studies/", "/billing/payments/", "javascript:alert(1)"])
def test_a_foreign_next_is_ignored(study, researcher, budget, client_for, foreign):
    done = _panel_person(study, "Dana")
    client = client_for(researcher)
    form = client.get(form_url(study, done), {"next": foreign}).content.decode()
    invite = reverse("panel:study_invite", args=[study.pk])
    assert f'name="next" value="{invite}"' in form and f'href="{invite}">Cancel' in form
    response = client.post(form_url(study, done), {**_record_data(budget), "next": foreign})
    assert response.status_code == 302 and response["Location"] == invite
    assert Transfer.objects.filter(study_id=study.pk).count() == 1


def test_another_studys_tab_is_not_a_next(study, researcher, budget, client_for):
    done = _panel_person(study, "Dana")
    other = reverse("participants:study_participants", args=[uuid.uuid4()])
    response = client_for(researcher).post(form_url(study, done),
                                           {**_record_data(budget), "next": other})
    assert response["Location"] == reverse("panel:study_invite", args=[study.pk])

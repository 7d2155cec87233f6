"""The booking control (driving Rally's booking page over HTTP) and the console pages."""

import json

import httpx
import pytest

from sandbox import webhooks
from sandbox.models import Applicant, Fault, Recruit
from tests.sandbox.factories import ApplicantFactory, RecruitFactory

SLOTS = {"timezone": "America/New_York", "slots": [
    {"startsAt": "2030-03-04T15:00:00Z", "endsAt": "2030-03-04T15:45:00Z"},
    {"startsAt": "2030-03-04T16:00:00Z", "endsAt": "2030-03-04T16:45:00Z"}]}


class BookingPage:
    def __init__(self, answer=201):
        self.answer = answer
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=SLOTS)
        if self.answer == 409:
            return httpx.Response(409, json={"error": "That time was just taken."})
        return httpx.Response(201, json={"session": {"startsAt": json.loads(
            request.content)["startsAt"]}})


@pytest.fixture
def booking_page(monkeypatch):
    booking_page = BookingPage()
    monkeypatch.setattr(webhooks, "http_client",
                        lambda: httpx.Client(transport=httpx.MockTransport(booking_page)))
    return booking_page


@pytest.fixture
def invited(db):
    return ApplicantFactory(status="approved",
                            invitation_url="http://rally.test/book/s1?token=abc")


def test_book_takes_the_first_free_slot(api, booking_page, invited):
    response = api.post(f"/_sandbox/applicants/{invited.id}/book")
    assert response.status_code == 200, response.content
    result = response.json()["data"]["attributes"]
    assert result["startsAt"] == "2030-03-04T15:00:00Z" and result["rallyStatus"] == 201
    get, post = booking_page.requests
    assert get.headers["Accept"] == "application/json"
    assert str(get.url) == invited.invitation_url
    assert json.loads(post.content) == {"startsAt": "2030-03-04T15:00:00Z"}


def test_book_a_given_time(api, booking_page, invited):
    response = api.post(f"/_sandbox/applicants/{invited.id}/book",
                        {"startsAt": "2030-03-04T16:00:00Z"})
    assert response.json()["data"]["attributes"]["startsAt"] == "2030-03-04T16:00:00Z"


def test_a_taken_slot_reports_rallys_409(api, booking_page, invited):
    booking_page.answer = 409
    response = api.post(f"/_sandbox/applicants/{invited.id}/book")
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["meta"]["rallyStatus"] == 409
    assert "taken" in error["detail"]


def test_booking_needs_an_invitation(api, booking_page):
    applicant = ApplicantFactory()
    assert api.post(f"/_sandbox/applicants/{applicant.id}/book").status_code == 409
    assert api.post("/_sandbox/applicants/app_nope/book").status_code == 404
    assert booking_page.requests == []


def test_an_unreachable_booking_page_is_a_502(api, invited, monkeypatch):
    def refuse(request):
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(webhooks, "http_client",
                        lambda: httpx.Client(transport=httpx.MockTransport(refuse)))
    assert api.post(f"/_sandbox/applicants/{invited.id}/book").status_code == 502


# Console ------------------------------------------------------------------------------


def test_console_lists_everything(client, db):
    recruit = RecruitFactory(status="pending_review", internal_name="Onboarding study")
    ApplicantFactory(recruit=recruit, first_name="Priya")
    response = client.get("/sandbox/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("User Interviews sandbox", "Onboarding study", "Priya", "Approve review",
                 "Advance clock", "Inject fault", "Reset sandbox", "Webhook deliveries"):
        assert text in html


def test_console_live_region_for_htmx(client, db):
    RecruitFactory(internal_name="Live study")
    response = client.get("/sandbox/?region=live", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Live study" in html and "<html" not in html


def test_console_buttons_call_the_services(client, db):
    recruit = RecruitFactory(status="pending_review")
    client.post("/sandbox/act/", {"action": "review", "recruit": recruit.id,
                                  "outcome": "approve"})
    assert Recruit.objects.get(pk=recruit.id).status == "recruiting"
    response = client.post("/sandbox/act/", {"action": "generate", "recruit": recruit.id,
                                             "count": "4", "meets_criteria": "on"}, follow=True)
    assert "4 applicant(s) arrived." in response.content.decode()
    assert Applicant.objects.filter(recruit=recruit).count() == 4
    client.post("/sandbox/act/", {"action": "fault", "path": "/recruits", "status": "503",
                                  "count": "2"})
    assert Fault.objects.get().remaining == 2
    client.post("/sandbox/act/", {"action": "advance", "hours": "2"})
    from rally import clock

    assert clock.offset_seconds() == 7200
    client.post("/sandbox/act/", {"action": "reset"})
    assert not Recruit.objects.exists() and clock.offset_seconds() == 0


@pytest.mark.parametrize("form", [
    {"action": "explode"},
    {"action": "generate", "recruit": "rec_nope", "count": "2"},
    {"action": "generate"},
    {"action": "advance", "hours": "soon"},
    {"action": "fault", "path": "recruits", "status": "500"},
    {"action": "fault", "path": "/recruits"},
])
def test_console_bad_input_shows_a_message_not_a_500(client, db, form):
    response = client.post("/sandbox/act/", form, follow=True)
    assert response.status_code == 200
    assert 'toast--error' in response.content.decode()


def test_the_application_page_takes_direct_link_applicants(client, db):
    recruit = RecruitFactory(status="recruiting", public_title="Tell us about budgeting")
    response = client.get(f"/sandbox/apply/{recruit.id}")
    assert response.status_code == 200 and "Tell us about budgeting" in response.content.decode()
    client.post("/sandbox/act/", {"action": "apply", "recruit": recruit.id,
                                  "meets_criteria": "on"})
    applicant = Applicant.objects.get(recruit=recruit)
    assert applicant.source == "direct_link"
    assert client.get("/sandbox/apply/rec_nope").status_code == 404


def test_console_shows_each_approved_applicants_booking_link(client, db):
    recruit = RecruitFactory(status="recruiting", internal_name="Onboarding study")
    ApplicantFactory(recruit=recruit, first_name="Priya", last_initial="K", status="approved",
                     invitation_url="http://rally.test/book/abc?token=p1")
    ApplicantFactory(recruit=recruit, first_name="Omar", last_initial="B", status="applied",
                     invitation_url="")
    html = client.get("/sandbox/").content.decode()
    assert ('<a href="http://rally.test/book/abc?token=p1" aria-label="Booking link of Priya '
            'K.">Booking link</a>') in html
    assert html.count(">Booking link</a>") == 1

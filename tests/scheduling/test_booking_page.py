"""The public booking page: HTML and the JSON contract the sandbox uses."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from scheduling import services
from scheduling.models import Session

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def url_for(application):
    return reverse("scheduling:booking", kwargs={"token": services.booking_token_make(application)})


def test_json_get_lists_free_slots_in_the_contract_shape(client, scheduling, invited):
    response = client.get(url_for(invited()) + "?tz=Asia/Tokyo", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"timezone", "slots"} and body["timezone"] == "Asia/Tokyo"
    first = body["slots"][0]
    assert set(first) == {"startsAt", "endsAt"}
    # 2 hours notice from 08:00 New York: the first slot is 10:00 New York
    assert datetime.fromisoformat(first["startsAt"]) == TEN_NY


def test_json_post_books_then_409_when_taken(client, scheduling, invited):
    post = {"data": json.dumps({"startsAt": TEN_NY.isoformat()}),
            "content_type": "application/json", "HTTP_ACCEPT": "application/json"}
    response = client.post(url_for(invited()), **post)
    assert response.status_code == 201
    session = response.json()["session"]
    assert set(session) == {"id", "startsAt", "endsAt", "status", "meetingUrl", "address"}
    assert session["status"] == "upcoming"
    assert datetime.fromisoformat(session["startsAt"]) == TEN_NY
    taken = client.post(url_for(invited()), **post)
    assert taken.status_code == 409 and "just taken" in taken.json()["error"]
    assert Session.objects.count() == 1


@pytest.mark.parametrize("body", ["not json", json.dumps([1]), json.dumps({"startsAt": "soon"})])
def test_json_post_with_a_bad_body_is_a_4xx_and_books_nothing(client, scheduling, invited, body):
    response = client.post(url_for(invited()), data=body, content_type="application/json",
                           HTTP_ACCEPT="application/json")
    assert 400 <= response.status_code < 500 and "error" in response.json()
    assert not Session.objects.exists()


def test_forged_link_answers_404_json_and_html(client, scheduling, invited):
    bad = reverse("scheduling:booking", kwargs={"token": "forged-token"})
    response = client.get(bad, HTTP_ACCEPT="application/json")
    assert response.status_code == 404 and "not valid" in response.json()["error"]
    page = client.get(bad)
    assert page.status_code == 404 and "This link cannot be used" in page.content.decode()


def test_expired_link_answers_403(client, scheduling, invited, settings):
    settings.BOOKING_LINK_MAX_AGE_DAYS = -1
    response = client.get(url_for(invited()), HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and "expired" in response.json()["error"]


def test_html_booking_flow_book_reschedule_cancel(client, scheduling, invited):
    application = invited()
    url = url_for(application)
    page = client.get(url + "?tz=Europe/Berlin")
    html = page.content.decode()
    assert page.status_code == 200 and "Book your session" in html
    # 10:00 New York is 16:00 in Berlin (14:00 UTC must not be what is shown)
    assert 'data-clock="Europe/Berlin">16:00</time>' in html and ">14:00</time>" not in html
    response = client.post(url, {"action": "book", "starts_at": TEN_NY.isoformat(),
                                 "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Your session" in page and "Reschedule" in page and "Cancel session" in page
    moved = client.post(url, {"action": "reschedule", "time_zone": "Europe/Berlin",
                              "starts_at": datetime(2026, 6, 2, 14, tzinfo=UTC).isoformat()})
    assert moved.status_code == 302
    assert Session.objects.get().starts_at == datetime(2026, 6, 2, 14, tzinfo=UTC)
    assert client.post(url, {"action": "cancel"}).status_code == 302
    assert Session.objects.get().status == Session.Status.CANCELED


def test_html_taken_slot_shows_fresh_times(client, scheduling, invited):
    services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=TEN_NY)
    response = client.post(url_for(invited()), {"action": "book",
                                                "starts_at": TEN_NY.isoformat()})
    html = response.content.decode()
    assert response.status_code == 409
    assert "That time was just taken — here are the times still free." in html
    assert f'value="{TEN_NY.isoformat()}"' not in html
    assert "Choose a time" in html


@pytest.mark.parametrize("booked", [0, 12])
def test_booking_page_query_count_is_pinned(client, scheduling, invited, booked,
                                            django_assert_num_queries):
    url = url_for(invited())
    for _ in range(booked):
        services.session_book(invitation=services.invitation_from_token(
            services.booking_token_make(invited())),
            starts_at=services.study_slots(study=scheduling.study, scheduling=scheduling,
                                           now=TEN_NY)[0].starts_at)
    # ... one of them reads the hosts' own calendars' busy times
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(7):
        assert client.get(url, HTTP_ACCEPT="application/json").status_code == 200


def test_the_sandbox_can_book_without_a_csrf_cookie(scheduling, invited):
    """sandbox/booking.py: GET with Accept JSON, then POST {"startsAt"}; no cookies at all."""
    from django.test import Client

    http = Client(enforce_csrf_checks=True)
    url = url_for(invited())
    page = http.get(url, HTTP_ACCEPT="application/json")
    assert page.status_code == 200
    starts_at = page.json()["slots"][0]["startsAt"]
    booked = http.post(url, data=json.dumps({"startsAt": starts_at}),
                       content_type="application/json", HTTP_ACCEPT="application/json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["session"]["startsAt"] == starts_at

"""Where sessions happen: a fixed video link, a link per session from a pattern, or in person.
The place reaches the participant (booking page and its JSON) and the hosts' invites."""

from datetime import UTC, datetime

import icalendar
import pytest
from django.core import mail
from django.urls import reverse

from scheduling import services
from scheduling.models import LocationKind, SchedulingSettings, Session

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # Monday 10:00 New York


def tab_post(scheduling, **changes):
    form = {"hosts": [str(scheduling.study.owner_id)], "time_zone": "America/New_York",
            "start_date": "2026-06-01", "end_date": "2026-06-12",
            "hours_0_0_start": "09:00", "hours_0_0_end": "17:00",
            "buffer_minutes": "0", "minimum_notice_minutes": "120"}
    return form | changes


def book(application, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.session_book(invitation=services.invitation_from_token(
            services.booking_token_make(application)), starts_at=TEN_NY)


def booking_page(client, application):
    return client.get(reverse("scheduling:booking",
                              kwargs={"token": services.booking_token_make(application)}))


def invite_event():
    attachment = mail.outbox[-1].attachments[0]
    return icalendar.Calendar.from_ical(attachment[1]).walk("VEVENT")[0]


def test_a_link_pattern_gives_each_session_its_own_room(
        client, client_for, researcher, scheduling, invited, django_capture_on_commit_callbacks):
    url = reverse("scheduling:study_scheduling", args=[scheduling.study_id])
    response = client_for(researcher).post(url, tab_post(
        scheduling, location_kind="link_pattern",
        meeting_url_pattern="https://meet.jit.si/acme-{session_id}"))
    assert response.status_code == 302
    first, second = invited(), invited()
    session = book(first, django_capture_on_commit_callbacks)
    other = services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(second)), starts_at=TEN_NY.replace(hour=16))
    assert session.meeting_url == f"https://meet.jit.si/acme-{session.pk}"
    assert other.meeting_url == f"https://meet.jit.si/acme-{other.pk}"
    client.logout()
    page = booking_page(client, first).content.decode()
    assert f'href="https://meet.jit.si/acme-{session.pk}"' in page
    event = invite_event()
    assert str(event["LOCATION"]) == session.meeting_url
    assert session.meeting_url in str(event["DESCRIPTION"])


def test_in_person_sessions_carry_the_address(client, scheduling, invited,
                                              django_capture_on_commit_callbacks):
    SchedulingSettings.objects.filter(pk=scheduling.pk).update(
        location_kind=LocationKind.IN_PERSON, address="Acme HQ, 5 Main St, Room 3",
        meeting_url="https://meet.example.com/ignored")
    application = invited()
    session = book(application, django_capture_on_commit_callbacks)
    assert (session.meeting_url, session.location) == ("", "Acme HQ, 5 Main St, Room 3")
    page = booking_page(client, application).content.decode()
    assert "in person</strong>, Acme HQ, 5 Main St, Room 3" in page
    assert "meet.example.com" not in page
    assert str(invite_event()["LOCATION"]) == "Acme HQ, 5 Main St, Room 3"


def test_the_booking_json_names_the_place(client, scheduling, invited):
    SchedulingSettings.objects.filter(pk=scheduling.pk).update(
        meeting_url="https://meet.example.com/acme")
    response = client.post(
        reverse("scheduling:booking", kwargs={"token": services.booking_token_make(invited())}),
        data={"startsAt": TEN_NY.isoformat()}, content_type="application/json",
        HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    session = response.json()["session"]
    assert (session["meetingUrl"], session["address"]) == ("https://meet.example.com/acme", "")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"location_kind": "link_pattern", "meeting_url_pattern": "https://meet.jit.si/acme"},
     "meeting_url_pattern", "Put {session_id} where each session"),
    ({"location_kind": "link_pattern", "meeting_url_pattern": "meet {session_id} {x}"},
     "meeting_url_pattern", "The only placeholder is {session_id}."),
    ({"location_kind": "link_pattern", "meeting_url_pattern": "ftp://files/{session_id}"},
     "meeting_url_pattern", "must make a web address"),
    ({"location_kind": "in_person", "address": "  "}, "address", "Enter the address"),
    ({"location_kind": "on_the_moon"}, "location_kind", "Select a valid choice"),
])
def test_a_bad_meeting_place_is_refused_next_to_its_field(client_for, researcher, scheduling,
                                                          changes, field, message):
    url = reverse("scheduling:study_scheduling", args=[scheduling.study_id])
    response = client_for(researcher).post(url, tab_post(scheduling, **changes))
    assert response.status_code == 422
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors)
    scheduling.refresh_from_db()
    assert scheduling.location_kind == LocationKind.FIXED_LINK
    assert (scheduling.meeting_url_pattern, scheduling.address) == ("", "")
    assert not Session.objects.exists()


def test_a_group_meets_in_one_room_from_the_pattern(scheduling, invited):
    scheduling.study.study_type = "group_interview"
    scheduling.study.save()
    SchedulingSettings.objects.filter(pk=scheduling.pk).update(
        group_capacity=3, location_kind=LocationKind.LINK_PATTERN,
        meeting_url_pattern="https://meet.jit.si/acme-{session_id}")
    scheduling.refresh_from_db()
    sessions = [services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=TEN_NY) for _ in range(2)]
    group_id = sessions[0].group_slot_id
    assert group_id is not None and sessions[1].group_slot_id == group_id
    assert {s.meeting_url for s in Session.objects.all()} == {
        f"https://meet.jit.si/acme-{group_id}"}

"""Group Interview times: seats, joining, leaving and the host's time."""

from datetime import UTC, datetime

import pytest

from scheduling import services
from scheduling.models import GroupSlot
from scheduling.services import SlotTaken

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
TEN_THIRTY_NY = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)


@pytest.fixture
def group(scheduling):
    scheduling.study.study_type = "group_interview"
    scheduling.study.save()
    scheduling.group_capacity = 2
    scheduling.save()
    return scheduling


def book(application, starts_at):
    return services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(application)), starts_at=starts_at)


def offered(group):
    return {s.starts_at: s for s in services.study_slots(study=group.study, scheduling=group,
                                                         now=datetime(2026, 6, 1, 12, tzinfo=UTC))}


def test_participants_join_the_same_group_time_until_it_is_full(group, invited):
    first = book(invited(), TEN_NY)
    assert offered(group)[TEN_NY].seats_left == 1
    assert TEN_THIRTY_NY not in offered(group)  # overlaps the group time
    second = book(invited(), TEN_NY)
    assert first.group_slot_id == second.group_slot_id
    assert TEN_NY not in offered(group)
    with pytest.raises(SlotTaken):
        book(invited(), TEN_NY)


def test_leaving_the_last_seat_closes_the_group_time_and_frees_the_host(group, invited):
    application = invited()
    book(application, TEN_NY)
    services.session_cancel(invitation=services.invitation_from_token(
        services.booking_token_make(application)))
    assert not GroupSlot.objects.get().is_open
    assert TEN_THIRTY_NY in offered(group)
    book(invited(), TEN_THIRTY_NY)
    assert GroupSlot.objects.filter(is_open=True).count() == 1


# One group, one calendar event (SPEC C7) ---------------------------------------------------


def _calendar_messages():
    from django.core import mail

    return [message for message in mail.outbox
            if any(name == "invite.ics" for name, *_ in message.attachments)]


def _event(message):
    import icalendar

    [(_, content, _)] = message.attachments
    calendar = icalendar.Calendar.from_ical(content)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_a_group_of_three_is_one_calendar_event_updated_as_people_join_and_leave(
        group, invited, django_capture_on_commit_callbacks):
    from django.core import mail

    group.group_capacity = 3
    group.save()
    people = [invited(participant__first_name=name) for name in ("Ana", "Ben", "Cleo")]
    for application in people:
        with django_capture_on_commit_callbacks(execute=True):
            book(application, TEN_NY)
    slot = GroupSlot.objects.get()
    messages = _calendar_messages()
    uids = {str(_event(message)[1]["UID"]) for message in messages}
    assert uids == {slot.ics_uid}  # one event, never one per person
    calendar, event = _event(messages[-1])
    assert int(event["SEQUENCE"]) == 3 and str(calendar["METHOD"]) == "REQUEST"
    for application in people:
        assert application.participant.display_name in str(event["DESCRIPTION"])
    assert "(3 participants)" in str(event["SUMMARY"])

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(invitation=services.invitation_from_token(
            services.booking_token_make(people[0])))
    calendar, event = _event(_calendar_messages()[-1])
    assert str(event["UID"]) == slot.ics_uid and int(event["SEQUENCE"]) == 4
    assert people[0].participant.display_name not in str(event["DESCRIPTION"])
    assert str(calendar["METHOD"]) == "REQUEST"

    for application in people[1:]:
        with django_capture_on_commit_callbacks(execute=True):
            services.session_cancel(invitation=services.invitation_from_token(
                services.booking_token_make(application)))
    calendar, event = _event(_calendar_messages()[-1])
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == slot.ics_uid


def test_each_revision_is_sent_once_and_the_sweeper_catches_a_lost_one(group, invited,
                                                                       frozen_clock):
    from datetime import timedelta

    from scheduling.tasks import session_invites_sweep

    book(invited(), TEN_NY)  # on-commit callbacks never ran: the message was "lost"
    assert _calendar_messages() == []
    frozen_clock.shift(timedelta(minutes=3))
    session_invites_sweep()
    session_invites_sweep()
    assert len(_calendar_messages()) == 1


def test_the_booking_page_shows_seats_left_and_started_groups_first(client, group, invited):
    from django.urls import reverse

    group.group_capacity = 3
    group.save()
    book(invited(), TEN_THIRTY_NY)
    url = reverse("scheduling:booking",
                  kwargs={"token": services.booking_token_make(invited())})
    page = client.get(url + "?tz=America/New_York").content.decode()
    started = page.index("Groups that already have people")
    other = page.index("Other times")
    joined = page.index(f'value="{TEN_THIRTY_NY.isoformat()}"')
    assert started < joined < other
    assert "2 seats left" in page[started:other] and "3 seats left" in page[other:]


def test_a_capacity_above_the_participation_limit_is_flagged(client_for, researcher, group):
    from django.urls import reverse

    group.study.participation_limit = 4
    group.study.save()
    group.group_capacity = 6
    group.save()
    page = client_for(researcher).get(
        reverse("scheduling:study_scheduling", args=[group.study.pk])).content.decode()
    assert 'id="capacity-over-limit"' in page and "no group can ever fill" in page
    group.group_capacity = 4
    group.save()
    page = client_for(researcher).get(
        reverse("scheduling:study_scheduling", args=[group.study.pk])).content.decode()
    assert 'id="capacity-over-limit"' not in page


def test_the_scheduling_tab_shows_each_group_once_with_its_members(client_for, researcher,
                                                                  group, invited):
    from django.urls import reverse

    group.group_capacity = 3
    group.save()
    for name in ("Ana", "Ben"):
        book(invited(participant__first_name=name), TEN_NY)
    page = client_for(researcher).get(
        reverse("scheduling:study_scheduling", args=[group.study.pk])).content.decode()
    assert page.count('<tr class="group-row">') == 1
    assert "2 of 3 seats taken" in page
    heading = page.index('<tr class="group-row">')
    assert heading < page.index("Ana P.") and heading < page.index("Ben P.")

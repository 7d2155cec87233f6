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

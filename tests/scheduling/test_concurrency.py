"""Concurrent bookings on real Postgres: the last slot and group capacity hold."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from scheduling import services
from scheduling.models import GroupSlot, Session

pytestmark = pytest.mark.django_db(transaction=True)

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def book_all_at_once(applications, starts_at):
    """Each application books `starts_at` from its own thread; returns (sessions, refusals)."""
    barrier = threading.Barrier(len(applications))
    booked, refused, crashed = [], [], []

    def attempt(application):
        invitation = services.invitation_from_token(services.booking_token_make(application))
        try:
            barrier.wait()
            booked.append(services.session_book(invitation=invitation, starts_at=starts_at))
        except services.SchedulingError as error:
            refused.append(error)
        except Exception as error:  # a crash must fail the test, not hang it
            crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not crashed, crashed
    return booked, refused


def test_two_people_booking_the_last_interview_slot_get_one_booking(scheduling, invited):
    first, second = invited(), invited()
    booked, refused = book_all_at_once([first, second], TEN_NY)
    assert len(booked) == 1 and len(refused) == 1
    assert isinstance(refused[0], services.SlotTaken)
    assert "just taken" in refused[0].message
    assert Session.objects.filter(status="upcoming", starts_at=TEN_NY).count() == 1


def test_many_people_on_one_time_with_two_hosts_fill_both_hosts_once(scheduling, invited, admin):
    scheduling.study.team.add(admin.user)
    scheduling.hosts.add(admin.user)
    booked, refused = book_all_at_once([invited() for _ in range(5)], TEN_NY)
    assert len(booked) == 2 and len(refused) == 3
    hosts = set(Session.objects.filter(starts_at=TEN_NY).values_list("host_id", flat=True))
    assert hosts == {scheduling.study.owner.pk, admin.user.pk}


def test_group_capacity_holds_under_concurrent_bookings(scheduling, invited):
    study = scheduling.study
    study.study_type = "group_interview"
    study.save()
    scheduling.group_capacity = 3
    scheduling.save()
    booked, refused = book_all_at_once([invited() for _ in range(7)], TEN_NY)
    assert len(booked) == 3 and len(refused) == 4
    group = GroupSlot.objects.get()
    assert group.sessions.filter(status="upcoming").count() == 3
    assert all(isinstance(error, services.SlotTaken) for error in refused)

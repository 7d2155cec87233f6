"""Hosts mark sessions after the end; calendar invites are well-formed and stable."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from scheduling import ics, services
from scheduling.models import Session

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def booked(scheduling, invited):
    return services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=TEN_NY)


def mark_url(session):
    return reverse("scheduling:session_mark", kwargs={"session_id": session.pk})


def test_the_host_marks_a_no_show_from_the_tab_after_the_end(client_for, researcher, booked,
                                                             frozen_clock):
    client = client_for(researcher)
    tab = reverse("scheduling:study_scheduling", kwargs={"study_id": booked.study_id})
    assert "No-show</button>" not in client.get(tab).content.decode()
    frozen_clock.move_to(booked.ends_at + timedelta(minutes=1))
    assert "No-show</button>" in client.get(tab).content.decode()
    assert client.post(mark_url(booked), {"status": "no_show"}).status_code == 302
    booked.refresh_from_db()
    assert booked.status == Session.Status.NO_SHOW


def test_marking_is_refused_to_observers_and_other_workspaces(client_for, observer, outsider,
                                                              booked, frozen_clock):
    frozen_clock.move_to(booked.ends_at + timedelta(minutes=1))
    assert client_for(observer).post(mark_url(booked), {"status": "completed"}).status_code == 403
    assert client_for(outsider).post(mark_url(booked), {"status": "completed"}).status_code == 404
    booked.refresh_from_db()
    assert booked.status == Session.Status.UPCOMING


def test_a_closed_study_booking_page_offers_nothing(client, scheduling, invited):
    scheduling.study.status = "closed"
    scheduling.study.save()
    url = reverse("scheduling:booking",
                  kwargs={"token": services.booking_token_make(invited())})
    assert client.get(url, HTTP_ACCEPT="application/json").json()["slots"] == []
    assert "This study is closed" in client.get(url).content.decode()


def test_the_calendar_invite_keeps_its_uid_and_counts_revisions(booked, admin):
    booked.guests.add(admin.user)
    attendees = ics.session_invite_recipients(booked)
    assert {p.email for p in attendees} == {booked.host.email, admin.user.email}
    first = ics.session_calendar(session=booked, method=ics.REQUEST, attendees=attendees,
                                 now=TEN_NY)
    booked.sequence = 2
    cancel = ics.session_calendar(session=booked, method=ics.CANCEL, attendees=attendees,
                                  now=TEN_NY)
    uid = f"UID:session-{booked.pk}@rally"
    assert uid in first and uid in cancel
    assert "SEQUENCE:0" in first and "SEQUENCE:2" in cancel
    assert "METHOD:CANCEL" in cancel and "STATUS:CANCELLED" in cancel
    assert "DTSTART:20260601T140000Z" in first
    assert all(len(line.encode()) <= 75 for line in first.split("\r\n"))
    # the participant (from User Interviews) is named but never addressed
    assert booked.application.participant.display_name in first
    assert first.count("ATTENDEE") == 2


def test_a_lost_invite_is_sent_by_the_sweeper_once(scheduling, invited, frozen_clock, worker,
                                                   monkeypatch):
    from django.core import mail

    from rally.celery import app
    from scheduling.tasks import session_invites_sweep

    monkeypatch.setattr(app, "send_task", lambda *a, **k: None)  # the broker lost the message
    session = services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=TEN_NY)
    assert mail.outbox == []
    session_invites_sweep()
    assert mail.outbox == []  # not yet: the prompt send gets a grace period
    frozen_clock.shift(timedelta(minutes=3))
    session_invites_sweep()
    session_invites_sweep()
    assert len(mail.outbox) == 1
    session.refresh_from_db()
    assert session.invite_sequence_sent == session.sequence == 0
    ics.session_invite_send(session_id=session.pk)
    assert len(mail.outbox) == 1

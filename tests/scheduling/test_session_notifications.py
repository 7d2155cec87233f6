"""N1: a session booked, rescheduled or canceled tells the study's team and the host — each
in their own time zone, in the app and by email — and nobody else."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rally import notifications
from rally.models import Notification, NotificationKind
from scheduling import services

pytestmark = pytest.mark.django_db

Kind = NotificationKind
TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # Monday 10:00 New York, 16:00 Berlin


@pytest.fixture
def team(study, researcher, ops_manager, admin, observer):
    researcher.user.time_zone = "Europe/Berlin"
    researcher.user.save()
    study.team.add(ops_manager.user)
    return study


def _invitation(application):
    return services.invitation_from_token(services.booking_token_make(application))


def _headlines(kind):
    """{email: headline as that person reads it (their zone)}."""
    told = {}
    for row in Notification.objects.filter(kind=kind).select_related("recipient"):
        with timezone.override(row.recipient.time_zone):
            told[row.recipient.email] = row.headline
    return told


def _emails():
    notifications.notification_emails_send_due()
    return {message.to[0]: message for message in mail.outbox
            if message.subject.startswith("Rally:")}


def test_a_booking_tells_the_team_and_host_in_their_zones(team, scheduling, invited):
    application = invited()
    name = application.participant.display_name
    services.session_book(invitation=_invitation(application), starts_at=TEN_NY)
    told = _headlines(Kind.SESSION_BOOKED)
    assert sorted(told) == ["olivia@acme.test", "riley@acme.test"]  # not the Admin
    study = team.name
    assert told["riley@acme.test"] == (
        f"{name} booked a session of “{study}” for Mon, Jun 1, 4:00 PM CEST")
    assert told["olivia@acme.test"] == (
        f"{name} booked a session of “{study}” for Mon, Jun 1, 10:00 AM EDT")
    emails = _emails()
    assert sorted(emails) == ["olivia@acme.test", "riley@acme.test"]
    assert "4:00 PM CEST" in emails["riley@acme.test"].subject
    assert reverse("scheduling:study_scheduling", args=[team.pk]) in emails[
        "riley@acme.test"].body


def test_a_reschedule_and_a_cancel_tell_the_same_people(team, scheduling, invited):
    application = invited()
    services.session_book(invitation=_invitation(application), starts_at=TEN_NY)
    services.session_reschedule(invitation=_invitation(application),
                                starts_at=TEN_NY + timedelta(hours=1))
    moved = _headlines(Kind.SESSION_RESCHEDULED)
    assert sorted(moved) == ["olivia@acme.test", "riley@acme.test"]
    assert moved["riley@acme.test"].endswith("to Mon, Jun 1, 5:00 PM CEST")
    services.session_cancel(invitation=_invitation(application))
    canceled = _headlines(Kind.SESSION_CANCELED)
    assert sorted(canceled) == ["olivia@acme.test", "riley@acme.test"]
    assert "canceled their session" in canceled["olivia@acme.test"]
    assert len([m for m in _emails().values()]) == 2  # one message a person (latest kept)
    assert len([m for m in mail.outbox if m.subject.startswith("Rally:")]) == 6


def test_a_refused_booking_tells_nobody(team, scheduling, invited):
    with pytest.raises(services.SchedulingError):
        services.session_book(invitation=_invitation(invited()),
                              starts_at=TEN_NY + timedelta(minutes=7))
    assert not Notification.objects.exists()

"""Calendar invites (RFC 5545) for sessions, emailed to hosts and guests after commit.

The UID is stable per session, so calendars update the same event; SEQUENCE grows on every
reschedule and on cancel. Invitations (REQUEST) go only to sessions still ahead; a CANCEL only
to people who were invited. The message is multipart/alternative with the calendar inline as
`text/calendar; method=…` (what makes mail clients offer accept and decline), and the same
calendar attached as invite.ics. Participants from User Interviews never receive one from
Rally: Rally has no email for them (SPEC P5).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

REQUEST = "REQUEST"
CANCEL = "CANCEL"
PRODID = "-//Rally//Scheduling//EN"

logger = logging.getLogger(__name__)


def _stamp(moment):
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _escape(text):
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line):
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def session_calendar(*, session, method, attendees, now):
    """The text/calendar document for one session."""
    study = session.study
    participant = session.application.participant.display_name
    canceled = method == CANCEL
    organizer = session.host
    description = (f"Session with {participant} for the study “{study.name}” "
                   f"({session.duration_minutes} minutes).")
    if session.meeting_url:
        description += f"\nMeeting link: {session.meeting_url}"
    elif session.location:
        description += f"\nIn person: {session.location}"
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{session.ics_uid}",
        f"SEQUENCE:{session.sequence}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(session.starts_at)}",
        f"DTEND:{_stamp(session.ends_at)}",
        f"SUMMARY:{_escape(f'{study.name}: session with {participant}')}",
        f"DESCRIPTION:{_escape(description)}",
        f"STATUS:{'CANCELLED' if canceled else 'CONFIRMED'}",
        f"ORGANIZER;CN={_escape(organizer.display_name)}:mailto:{organizer.email}",
    ]
    if session.meeting_url:
        lines.append(f"LOCATION:{_escape(session.meeting_url)}")
        lines.append(f"URL:{session.meeting_url}")
    elif session.location:
        lines.append(f"LOCATION:{_escape(session.location)}")
    for person in attendees:
        lines.append(f"ATTENDEE;CN={_escape(person.display_name)};ROLE=REQ-PARTICIPANT;"
                     f"PARTSTAT=NEEDS-ACTION:mailto:{person.email}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def session_invite_recipients(session):
    """Hosts and guests (Rally members); participants from UI never get an email (P5)."""
    people = {session.host_id: session.host}
    for guest in session.guests.all():
        people.setdefault(guest.pk, guest)
    return [person for person in people.values() if person.email]


def session_invite_send(*, session_id):
    """Send the calendar message due for a session, once per SEQUENCE (idempotent).

    REQUEST for an upcoming (or rescheduled) session that has not ended, CANCEL for a canceled
    one whose invitation went out; nothing for a session already over (completed, no-show, or
    past its end). The message is sent first and then recorded, so a crash in between
    re-sends rather than loses it.
    """
    from rally import clock
    from scheduling.models import Session

    session = (Session.objects.select_related("study", "host", "application__participant")
               .filter(pk=session_id).first())
    if session is None or session.invite_sequence_sent >= session.sequence:
        return 0
    now = clock.now()
    method = invite_method(session, now=now)
    recipients = session_invite_recipients(session) if method else []
    if recipients:
        _invite_email(session, method, recipients, now=now).send()
    Session.objects.filter(pk=session.pk, invite_sequence_sent__lt=session.sequence).update(
        invite_sequence_sent=session.sequence)
    return len(recipients)


def invite_method(session, *, now):
    """REQUEST, CANCEL, or None when no calendar message is due for the session's state."""
    from scheduling.models import Session

    if session.ends_at <= now:
        return None  # over: an invitation to the past, or its cancellation, is only noise
    if session.status == Session.Status.UPCOMING:
        return REQUEST
    if session.status == Session.Status.CANCELED and session.invite_sequence_sent >= 0:
        return CANCEL
    return None


def _invite_email(session, method, recipients, *, now):
    calendar = session_calendar(session=session, method=method, attendees=recipients, now=now)
    verb = "Canceled" if method == CANCEL else "Invitation"
    when = session.starts_at.strftime("%a %d %b %Y %H:%M UTC")
    message = EmailMultiAlternatives(
        subject=f"{verb}: {session.study.name} session, {when}",
        body=(f"{'This session was canceled' if method == CANCEL else 'A session is booked'}: "
              f"{session.study.name}, {when}, {session.duration_minutes} minutes, with "
              f"{session.application.participant.display_name}.\n"
              + (f"Meeting link: {session.meeting_url}\n" if session.meeting_url else "")
              + (f"In person: {session.location}\n" if session.location else "")),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email for person in recipients],
    )
    message.attach_alternative(calendar, f"text/calendar; method={method}; charset=utf-8")
    message.attach("invite.ics", calendar, "application/ics")
    return message


def session_invites_due(*, now, grace=timedelta(minutes=2), limit=200):
    """Sessions whose calendar message is still due a while after the change (missed sends)."""
    from django.db.models import F

    from scheduling.models import Session

    return list(Session.objects.filter(invite_sequence_sent__lt=F("sequence"),
                                       updated_at__lte=now - grace)
                .order_by("updated_at").values_list("pk", flat=True)[:limit])

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
    if session.group_slot_id is not None:
        # A member of a group: the group's one event carries them (group_invite_send).
        Session.objects.filter(pk=session.pk, invite_sequence_sent__lt=session.sequence).update(
            invite_sequence_sent=session.sequence)
        return 0
    now = clock.now()
    method = invite_method(session, now=now)
    recipients = session_invite_recipients(session) if method else []
    for message in _invite_emails(session, method, recipients, now=now):
        message.send()
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


def _invite_emails(session, method, recipients, *, now):
    """One message a person, the same event attached: each reads the time in their own
    zone, named (SPEC W6)."""
    from rally.timezones import moment_words, zone_or_default

    calendar = session_calendar(session=session, method=method, attendees=recipients, now=now)
    verb = "Canceled" if method == CANCEL else "Invitation"
    messages = []
    for person in recipients:
        when = moment_words(session.starts_at, zone_or_default(person.time_zone))
        message = EmailMultiAlternatives(
            subject=f"{verb}: {session.study.name} session, {when}",
            body=(f"{'This session was canceled' if method == CANCEL else 'A session is booked'}"
                  f": {session.study.name}, {when}, {session.duration_minutes} minutes, with "
                  f"{session.application.participant.display_name}.\n"
                  + (f"Meeting link: {session.meeting_url}\n" if session.meeting_url else "")
                  + (f"In person: {session.location}\n" if session.location else "")),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[person.email],
        )
        message.attach_alternative(calendar, f"text/calendar; method={method}; charset=utf-8")
        message.attach("invite.ics", calendar, "application/ics")
        messages.append(message)
    return messages


def group_calendar(*, group, members, method, attendees, now):
    """The text/calendar document of a Group Interview: one event (one UID) whose guest
    list is the group's members; participants without an email (UI's, P5) are named in
    the description only."""
    study = group.study
    names = ", ".join(member.application.participant.display_name for member in members)
    duration = int((group.ends_at - group.starts_at).total_seconds() // 60)
    description = (f"Group session for the study “{study.name}” ({duration} minutes). "
                   f"Participants: {names or 'nobody any more'}.")
    meeting_url = next((member.meeting_url for member in members if member.meeting_url), "")
    if meeting_url:
        description += f"\nMeeting link: {meeting_url}"
    lines = [
        "BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN",
        f"METHOD:{method}", "BEGIN:VEVENT",
        f"UID:{group.ics_uid}",
        f"SEQUENCE:{group.sequence}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(group.starts_at)}",
        f"DTEND:{_stamp(group.ends_at)}",
        f"SUMMARY:{_escape(f'{study.name}: group session ({len(members)} participants)')}",
        f"DESCRIPTION:{_escape(description)}",
        f"STATUS:{'CANCELLED' if method == CANCEL else 'CONFIRMED'}",
        f"ORGANIZER;CN={_escape(group.host.display_name)}:mailto:{group.host.email}",
    ]
    if meeting_url:
        lines.append(f"LOCATION:{_escape(meeting_url)}")
    guests = list(attendees) + [member.application.participant for member in members
                                if member.application.participant.email]
    for person in guests:
        lines.append(f"ATTENDEE;CN={_escape(person.display_name)};ROLE=REQ-PARTICIPANT;"
                     f"PARTSTAT=NEEDS-ACTION:mailto:{person.email}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def group_invite_send(*, group_slot_id):
    """Send the group's event as it is now (REQUEST while it has members, CANCEL once the
    last one left), once per revision, to its hosts and guests — one message a person,
    each with the time in their own zone. Returns how many were sent."""
    from rally import clock
    from rally.timezones import moment_words, zone_or_default
    from scheduling.models import GroupSlot, Session

    group = (GroupSlot.objects.select_related("study", "host").filter(pk=group_slot_id)
             .first())
    if group is None or group.invite_sequence_sent >= group.sequence:
        return 0
    members = list(group.sessions.filter(status=Session.Status.UPCOMING)
                   .select_related("application__participant").prefetch_related("guests")
                   .order_by("created_at"))
    method = REQUEST if members else CANCEL
    people = {group.host_id: group.host}
    for member in members:
        for guest in member.guests.all():
            people.setdefault(guest.pk, guest)
    recipients = [person for person in people.values() if person.email]
    now = clock.now()
    calendar = group_calendar(group=group, members=members, method=method,
                              attendees=recipients, now=now)
    verb = "Canceled" if method == CANCEL else "Updated" if group.sequence > 1 else "Invitation"
    for person in recipients:
        when = moment_words(group.starts_at, zone_or_default(person.time_zone))
        message = EmailMultiAlternatives(
            subject=f"{verb}: {group.study.name} group session, {when}",
            body=(f"{group.study.name}, group session {when}: "
                  + (f"{len(members)} participant{'s' if len(members) != 1 else ''} "
                     f"({', '.join(m.application.participant.display_name for m in members)})."
                     if members else "everyone left, so the session is canceled.") + "\n"),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[person.email])
        message.attach_alternative(calendar, f"text/calendar; method={method}; charset=utf-8")
        message.attach("invite.ics", calendar, "application/ics")
        message.send()
    GroupSlot.objects.filter(pk=group.pk, invite_sequence_sent__lt=group.sequence).update(
        invite_sequence_sent=group.sequence)
    return len(recipients)


def group_invites_due(*, now, grace=timedelta(minutes=2), limit=200):
    """Groups whose calendar message is still due a while after the change."""
    from django.db.models import F

    from scheduling.models import GroupSlot

    return list(GroupSlot.objects.filter(invite_sequence_sent__lt=F("sequence"),
                                         updated_at__lte=now - grace)
                .order_by("updated_at").values_list("pk", flat=True)[:limit])


def session_invites_due(*, now, grace=timedelta(minutes=2), limit=200):
    """Sessions whose calendar message is still due a while after the change (missed sends)."""
    from django.db.models import F

    from scheduling.models import Session

    return list(Session.objects.filter(invite_sequence_sent__lt=F("sequence"),
                                       updated_at__lte=now - grace)
                .order_by("updated_at").values_list("pk", flat=True)[:limit])

"""Every calendar invite the suite makes, read back with the `icalendar` library: the checks
the tests of any part that books, moves or cancels a session share (tests/conftest.py runs
them over the outbox after each test)."""

from email.utils import parseaddr

from icalendar import Calendar

CALENDAR_TYPE = "text/calendar"


def calendar_parts(message):
    """(METHOD of the Content-Type, calendar text) of the message's inline text/calendar
    alternatives."""
    parts = []
    for content, mimetype in getattr(message, "alternatives", ()):
        kind, *parameters = (item.strip() for item in mimetype.split(";"))
        if kind.lower() != CALENDAR_TYPE:
            continue
        found = dict(p.split("=", 1) for p in parameters if "=" in p)
        parts.append((found.get("method", "").strip('"'), content))
    return parts


def _attached(message):
    """(filename, content, mimetype) of the message's attachments given as such."""
    return [tuple(item) for item in getattr(message, "attachments", ())
            if isinstance(item, tuple)]


def is_invite(message):
    return bool(calendar_parts(message)) or any(
        name and name.endswith(".ics") for name, *_ in _attached(message))


def invite_read(message):
    """The message's calendar, parsed and checked (an AssertionError names what is wrong):
    one inline `text/calendar; method=…` alternative equal to the invite.ics attachment, one
    VEVENT with UID, SEQUENCE, DTSTAMP, DTSTART before DTEND (UTC), an ORGANIZER and every
    addressee as an ATTENDEE. Returns (METHOD, the VEVENT)."""
    parts = calendar_parts(message)
    assert len(parts) == 1, f"{message.subject}: {len(parts)} inline text/calendar parts"
    method, text = parts[0]
    attached = [content for name, content, _ in _attached(message)
                if name and name.endswith(".ics")]
    assert attached == [text], f"{message.subject}: the attachment differs from the invite"
    calendar = Calendar.from_ical(text)
    assert calendar.get("VERSION") == "2.0" and calendar.get("PRODID")
    assert calendar.get("METHOD") == method, (calendar.get("METHOD"), method)
    assert method in ("REQUEST", "CANCEL")
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event.get("UID", "")).strip(), "no UID"
    assert isinstance(event.decoded("SEQUENCE"), int) and event.decoded("SEQUENCE") >= 0
    assert event.get("DTSTAMP") is not None
    starts, ends = event.decoded("DTSTART"), event.decoded("DTEND")
    assert starts.tzinfo is not None and starts.utcoffset().total_seconds() == 0
    assert ends > starts
    assert str(event.get("STATUS")) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = str(event.get("ORGANIZER", ""))
    assert organizer.lower().startswith("mailto:") and "@" in organizer
    attendees = event.get("ATTENDEE", [])
    attendees = [str(a).lower() for a in (attendees if isinstance(attendees, list)
                                          else [attendees])]
    addressed = {f"mailto:{parseaddr(address)[1].lower()}" for address in message.to}
    assert addressed and addressed <= set(attendees), (addressed, attendees)
    return method, event

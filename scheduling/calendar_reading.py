"""Hosts' own calendars over the network: CalDAV servers (RFC 4791) and iCalendar feeds.

A calendar's busy time is the start and end of every event occurrence that is neither free
(TRANSP:TRANSPARENT) nor canceled, recurring events expanded with `recurring-ical-events`;
everything else about an event is dropped here, before anything is stored. CalDAV calendars
are read with a time-range calendar query (the `caldav` library) and expanded on our side,
so a server, a feed and every recurrence rule go through the same code. Nothing here
touches the database or reads the clock; every failure becomes `CalendarUnreadable` with a
message for the host.
"""

import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlsplit

import caldav
import httpx
import icalendar
import recurring_ical_events
from caldav.lib import error as caldav_errors
from django.conf import settings

from rally.outgoing import tls_context
from scheduling.slots import Interval

FEED_MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 15
CONNECT_TIMEOUT_SECONDS = 5
# Rally's own sessions written back into a host's calendar are Rally's busy time already.
RALLY_UID_PREFIX, RALLY_UID_SUFFIX = "session-", "@rally"

logger = logging.getLogger(__name__)


class CalendarUnreadable(Exception):
    """The calendar could not be read or written; the message says why, for the host."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CalendarFound:
    url: str
    name: str


@dataclass(frozen=True)
class CalendarRead:
    busy: list  # [Interval], merged and in time order
    calendars: list  # [CalendarFound] (CalDAV only)


# Busy time from iCalendar text --------------------------------------------------------------


def _instant(value, zone):
    """An event boundary as UTC: all-day dates and floating times are the host's own."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _is_busy(component):
    if str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        return False
    uid = str(component.get("UID", ""))
    return not (uid.startswith(RALLY_UID_PREFIX) and uid.endswith(RALLY_UID_SUFFIX))


def _bounds(component, zone):
    start = component.get("DTSTART")
    if start is None:
        return None
    start = start.dt
    end = component.get("DTEND")
    if end is not None:
        end = end.dt
    elif component.get("DURATION") is not None:
        end = start + component["DURATION"].dt
    elif isinstance(start, date) and not isinstance(start, datetime):
        end = start + timedelta(days=1)  # an all-day event without an end lasts the day
    else:
        return None  # a moment, not a span: nobody is busy for zero minutes
    return _instant(start, zone), _instant(end, zone)


def busy_from_ics(documents, *, start, end, zone):
    """Merged busy intervals between `start` and `end` from iCalendar texts."""
    spans = []
    for text in documents:
        try:
            calendar = icalendar.Calendar.from_ical(text)
            occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(
                start, end)
        except (ValueError, KeyError, TypeError) as exc:
            raise CalendarUnreadable("The calendar sent something that is not a valid "
                                     "iCalendar file.") from exc
        for component in occurrences:
            if not _is_busy(component):
                continue
            bounds = _bounds(component, zone)
            if bounds is None or bounds[1] <= bounds[0]:
                continue
            spans.append(bounds)
    return _merged(spans, start=start, end=end)


def _merged(spans, *, start, end):
    merged = []
    for span_start, span_end in sorted(spans):
        if span_end <= start or span_start >= end:
            continue
        if merged and span_start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span_end)
        else:
            merged.append([span_start, span_end])
    return [Interval(a, b) for a, b in merged]


# Where Rally may connect -----------------------------------------------------------------------


def address_refuse_private(url):
    """Addresses people type in are fetched by Rally's workers: unless development allows it
    (CALENDAR_PRIVATE_ADDRESSES_ALLOWED), only public internet addresses are read."""
    if settings.CALENDAR_PRIVATE_ADDRESSES_ALLOWED:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError) as exc:
        raise CalendarUnreadable("The calendar server could not be reached.") from exc
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise CalendarUnreadable("Rally reads calendars on the public internet only, and "
                                     "this address is on a private network.")


# Feeds ----------------------------------------------------------------------------------------


def feed_url_normalize(url):
    """`webcal://` (what calendar apps show) is the same address over HTTPS."""
    url = (url or "").strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    return url


def feed_url_problem(url):
    """Why `url` cannot be a feed address, or "" when it can."""
    parts = urlsplit(feed_url_normalize(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter the calendar's address, starting with https:// or webcal://."
    return ""


def feed_read(*, url, start, end, zone):
    return CalendarRead(busy=busy_from_ics([_feed_fetch(feed_url_normalize(url))],
                                           start=start, end=end, zone=zone),
                        calendars=[])


def _feed_fetch(url):
    timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        hooks = {"request": [lambda request: address_refuse_private(str(request.url))]}
        with (httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5,
                           event_hooks=hooks, verify=tls_context()) as client,
              client.stream("GET", url, headers={"Accept": "text/calendar"}) as response):
            if response.status_code >= 400:
                raise CalendarUnreadable(_http_status_words(response.status_code))
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > FEED_MAX_BYTES:
                    raise CalendarUnreadable("The calendar is larger than 5 MB, too large to "
                                             "read.")
    except httpx.TimeoutException as exc:
        raise CalendarUnreadable("The calendar server did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise CalendarUnreadable("The calendar server could not be reached.") from exc
    return bytes(body)


def _http_status_words(status):
    if status in (401, 403):
        return (f"The calendar server refused access (HTTP {status}). The address may have "
                f"been reset: copy it again from your calendar.")
    if status == 404:
        return "There is no calendar at this address any more (HTTP 404)."
    return f"The calendar server answered with an error (HTTP {status})."


# CalDAV ---------------------------------------------------------------------------------------


def _client(url, username, password):
    return caldav.DAVClient(url=url, username=username or None, password=password or None,
                            timeout=TIMEOUT_SECONDS, enable_rfc6764=False)


def _caldav_call(url, operation):
    """Run `operation()` and turn every way a server can fail into CalendarUnreadable."""
    address_refuse_private(url)
    try:
        return operation()
    except CalendarUnreadable:
        raise
    except caldav_errors.AuthorizationError as exc:
        raise CalendarUnreadable("The calendar server refused the user name or app "
                                 "password.") from exc
    except caldav_errors.NotFoundError as exc:
        raise CalendarUnreadable("There is no calendar at this address.") from exc
    except caldav_errors.RateLimitError as exc:
        raise CalendarUnreadable("The calendar server asked us to slow down; Rally tries "
                                 "again later.") from exc
    except caldav_errors.DAVError as exc:
        raise CalendarUnreadable("The calendar server answered with an error.") from exc
    except OSError as exc:  # connection refused, DNS, TLS, timeouts (niquests' errors)
        raise CalendarUnreadable("The calendar server could not be reached.") from exc
    except Exception as exc:  # a server's odd answer must flag the calendar, not crash a worker
        logger.exception("calendar server gave an answer we could not use")
        raise CalendarUnreadable("The calendar server gave an answer Rally could not "
                                 "use.") from exc


def caldav_read(*, url, username, password, start, end, zone):
    """Every calendar of the account: their names and the busy time between start and end."""

    def read():
        with _client(url, username, password) as client:
            found, documents = [], []
            for calendar in client.principal().calendars():
                found.append(CalendarFound(url=str(calendar.url),
                                           name=calendar.get_display_name() or ""))
                for item in calendar.search(start=start, end=end, event=True, expand=False):
                    documents.append(item.data)
            return found, documents

    found, documents = _caldav_call(url, read)
    return CalendarRead(busy=busy_from_ics(documents, start=start, end=end, zone=zone),
                        calendars=found)


def caldav_event_url(calendar_url, uid):
    return calendar_url.rstrip("/") + "/" + quote(uid, safe="@") + ".ics"


def caldav_event_put(*, url, username, password, event_url, text):
    """Create or replace the event at `event_url` (a PUT of the whole object)."""

    def put():
        with _client(url, username, password) as client:
            response = client.put(event_url, text,
                                  {"Content-Type": "text/calendar; charset=utf-8"})
            if response.status not in (200, 201, 204):
                raise CalendarUnreadable(f"The calendar server did not save the session "
                                         f"(HTTP {response.status}).")

    _caldav_call(event_url, put)


def caldav_event_delete(*, url, username, password, event_url):
    """Remove the event; one already gone is fine."""

    def delete():
        with _client(url, username, password) as client:
            response = client.delete(event_url)
            if response.status not in (200, 204, 404):
                raise CalendarUnreadable(f"The calendar server did not remove the session "
                                         f"(HTTP {response.status}).")

    _caldav_call(event_url, delete)

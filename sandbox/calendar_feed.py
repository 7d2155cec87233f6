"""A demo host's calendar as an iCalendar feed (development only, like the rest of the sandbox).

`make run` connects the demo researcher's calendar to this feed, so their meetings visibly
block times on the booking page: a daily stand-up, a twice-weekly research sync and Friday
afternoon focus time, recurring weekly in New York time. The events are anchored a few weeks
before the clock's "now", so the feed always covers the coming weeks.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from rally import clock

ZONE = ZoneInfo("America/New_York")
FEEDS = {"demo-host"}
MEETINGS = [  # (uid, summary, weekdays, start, end)
    ("standup", "Team stand-up", "MO,TU,WE,TH,FR", time(9, 30), time(10, 0)),
    ("research-sync", "Research sync", "TU,TH", time(13, 0), time(14, 30)),
    ("focus", "Focus time", "FR", time(14, 0), time(17, 0)),
]


def demo_host_calendar(*, now):
    monday = (now.astimezone(ZONE) - timedelta(weeks=4)).date()
    monday -= timedelta(days=monday.weekday())
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Rally sandbox//Demo host calendar//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("X-WR-CALNAME", "Riley's work calendar")
    for uid, summary, weekdays, start, end in MEETINGS:
        event = icalendar.Event()
        event.add("UID", f"{uid}@sandbox.rally")
        event.add("DTSTAMP", now)
        event.add("SUMMARY", summary)
        event.add("DTSTART", datetime.combine(monday, start, tzinfo=ZONE))
        event.add("DTEND", datetime.combine(monday, end, tzinfo=ZONE))
        event.add("RRULE", {"FREQ": "WEEKLY", "BYDAY": weekdays.split(",")})
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


@require_GET
def calendar_feed(request, name):
    if name not in FEEDS:
        raise Http404
    return HttpResponse(demo_host_calendar(now=clock.now()),
                        content_type="text/calendar; charset=utf-8")

"""The demo host's calendar feed the sandbox serves for `make run`."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_feed_is_valid_icalendar_with_meetings_in_the_coming_week(client):
    with time_machine.travel(datetime(2026, 12, 5, 16, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("sandbox:calendar_feed", kwargs={"name": "demo-host"}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    week = recurring_ical_events.of(calendar).between(datetime(2026, 12, 7, tzinfo=UTC),
                                                      datetime(2026, 12, 12, tzinfo=UTC))
    standups = [e for e in week if str(e["SUMMARY"]) == "Team stand-up"]
    assert len(standups) == 5
    first = min(e.start for e in standups).astimezone(ZoneInfo("America/New_York"))
    assert (first.date().isoformat(), first.hour, first.minute) == ("2026-12-07", 9, 30)


def test_only_the_demo_feed_exists(client):
    url = reverse("sandbox:calendar_feed", kwargs={"name": "someone"})
    assert client.get(url).status_code == 404

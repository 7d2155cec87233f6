"""`|iso8601`: the one filter for machine-readable times in `<time datetime>`."""

import datetime
import zoneinfo

from django.template import Context, Template


def render(value):
    return Template("{{ value|iso8601 }}").render(Context({"value": value}))


def test_an_aware_moment_is_written_in_utc_to_the_second():
    moment = datetime.datetime(2026, 12, 5, 10, 15, 7, 123456,
                               tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert render(moment) == "2026-12-05T15:15:07Z"


def test_a_date_is_written_as_a_date_and_nothing_as_nothing():
    assert render(datetime.date(2026, 2, 28)) == "2026-02-28"
    assert render(None) == ""
    assert render("") == ""

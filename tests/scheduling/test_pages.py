"""The Scheduling tab and the Calendar: permissions, bad input, privacy."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from rally.models import ActivityEntry
from scheduling import services
from tests.scheduling.factories import SchedulingSettingsFactory

pytestmark = pytest.mark.django_db

TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def tab_url(study):
    return reverse("scheduling:study_scheduling", kwargs={"study_id": study.id})


def valid_post(scheduling, **changes):
    data = {"hosts": [str(scheduling.study.owner.pk)], "time_zone": "Europe/Berlin",
            "start_date": "2026-06-01", "end_date": "2026-06-30", "buffer_minutes": "10",
            "minimum_notice_minutes": "60",
            "hours_0_0_start": "09:00", "hours_0_0_end": "12:00",
            "hours_0_1_start": "13:00", "hours_0_1_end": "17:00",
            "hours_2_0_start": "10:00", "hours_2_0_end": "16:00",
            "unavailable_dates": "2026-06-10"}
    data.update(changes)
    return data


def test_the_tab_saves_settings(client_for, researcher, scheduling):
    client = client_for(researcher)
    response = client.post(tab_url(scheduling.study), valid_post(scheduling))
    assert response.status_code == 302
    scheduling.refresh_from_db()
    assert scheduling.time_zone == "Europe/Berlin"
    assert scheduling.weekly_hours == {"0": [["09:00", "12:00"], ["13:00", "17:00"]],
                                       "2": [["10:00", "16:00"]]}
    assert scheduling.buffer_minutes == 10
    assert [d.isoformat() for d in scheduling.unavailable_dates] == ["2026-06-10"]
    assert ActivityEntry.objects.filter(action="scheduling.updated").exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"end_date": "2026-05-01"}, "end date must be on or after"),
    ({"hours_0_1_start": "11:00", "hours_0_1_end": "13:00"}, "overlaps"),
    ({"hours_0_0_start": "nine"}, "Monday: “nine” is not a time of day; use a time like 09:00."),
    ({"hours_2_0_end": ""}, "Wednesday: give both the start and the end of the range."),
    ({"hours_2_0_end": "08:00"}, "Wednesday: the range ends at 08:00, before it starts at 10:00."),
    ({"time_zone": "Mars/Olympus"}, "Choose a time zone from the list, like Europe/Berlin"),
    ({"hosts": []}, "required"),
    ({"unavailable_dates": "someday"}, "not a date"),
    ({"buffer_minutes": "²"}, "Enter the buffer between sessions as a whole number"),
    ({"buffer_minutes": "١٠"}, "with the digits 0-9"),
    ({"minimum_notice_minutes": "1e3"}, "Enter the minimum notice as a whole number"),
    ({"minimum_notice_minutes": "1_000"}, "with the digits 0-9"),
    ({"buffer_minutes": "241"}, "from 0 to 240 minutes"),
])
def test_the_tab_refuses_bad_input_and_changes_nothing(client_for, researcher, scheduling,
                                                       changes, message):
    response = client_for(researcher).post(tab_url(scheduling.study),
                                           valid_post(scheduling, **changes))
    assert response.status_code == 422
    assert message in response.content.decode()
    scheduling.refresh_from_db()
    assert scheduling.time_zone == "America/New_York"


def test_rolling_days_are_disabled_with_the_reason_for_user_interviews(client_for, researcher,
                                                                     scheduling):
    html = client_for(researcher).get(tab_url(scheduling.study)).content.decode()
    assert "Rolling date ranges are not available for User Interviews" in html
    client_for(researcher).post(tab_url(scheduling.study),
                                valid_post(scheduling, rolling_days="7"))
    scheduling.refresh_from_db()
    assert scheduling.rolling_days is None


def test_observers_cannot_change_scheduling_and_outsiders_see_nothing(client_for, observer,
                                                                     outsider, scheduling):
    assert client_for(observer).get(tab_url(scheduling.study)).status_code == 200
    assert client_for(observer).post(tab_url(scheduling.study),
                                     valid_post(scheduling)).status_code == 403
    assert client_for(outsider).get(tab_url(scheduling.study)).status_code == 404


def test_session_overview_shows_the_name_but_no_email(client_for, researcher, scheduling,
                                                      invited):
    application = invited(participant__first_name="Dana", participant__last_initial="K")
    services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(application)), starts_at=TEN_NY)
    researcher.user.time_zone = "Europe/Berlin"
    researcher.user.save()
    html = client_for(researcher).get(tab_url(scheduling.study)).content.decode()
    assert "Dana K." in html
    assert "Mon 1 Jun 2026, 16:00 CEST" in html  # shown in the viewer's zone, zone named
    assert "60 min" in html
    assert "@" not in html.split('id="sessions-title"')[1].split("</table>")[0]


def test_the_calendar_lists_the_hosts_sessions_across_studies(client_for, researcher, workspace,
                                                              scheduling, invited):
    other = SchedulingSettingsFactory(study__workspace=workspace, study__owner=researcher.user,
                                      study__name="Pricing interviews")
    services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited())), starts_at=TEN_NY)
    services.session_book(invitation=services.invitation_from_token(
        services.booking_token_make(invited(study=other.study))),
        starts_at=datetime(2026, 6, 2, 14, tzinfo=UTC))
    html = client_for(researcher).get(reverse("scheduling:calendar")).content.decode()
    assert scheduling.study.name in html and "Pricing interviews" in html


def test_panel_studies_may_use_a_rolling_date_range(client_for, researcher, scheduling,
                                                    frozen_clock):
    from datetime import date

    study = scheduling.study
    study.source = "rally_panel"
    study.save()
    response = client_for(researcher).post(tab_url(study), valid_post(scheduling,
                                                                      rolling_days="7"))
    assert response.status_code == 302
    scheduling.refresh_from_db()
    assert scheduling.rolling_days == 7
    assert scheduling.date_range(today=date(2026, 6, 1)) == (date(2026, 6, 1), date(2026, 6, 7))


@pytest.mark.parametrize("page", ["tab", "calendar"])
def test_list_pages_keep_their_query_count_as_sessions_grow(client_for, researcher, scheduling,
                                                           invited, observer, frozen_clock,
                                                           page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rally import clock

    scheduling.guests.add(observer.user)
    url = tab_url(scheduling.study) if page == "tab" else reverse("scheduling:calendar")
    client = client_for(researcher)
    counts = []
    for _ in range(2):
        for _ in range(3):
            starts_at = services.study_slots(study=scheduling.study, scheduling=scheduling,
                                             now=clock.now())[0].starts_at
            services.session_book(invitation=services.invitation_from_token(
                services.booking_token_make(invited())), starts_at=starts_at)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 15

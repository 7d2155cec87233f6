"""The demo seed: availability and this week's sessions, idempotent."""

import pytest

from rally import demo
from scheduling import demo as scheduling_demo
from scheduling.models import SchedulingSettings, Session
from studies import demo as studies_demo

pytestmark = pytest.mark.django_db


def test_demo_seed_adds_scheduling_and_sessions_once(frozen_clock):
    for _ in range(2):
        context = demo.seed()
        studies_demo.seed(context)
        scheduling_demo.seed(context)
    assert SchedulingSettings.objects.count() >= 1
    assert Session.objects.filter(status="upcoming").count() == 2
    assert Session.objects.filter(status="completed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_demo_hosts_calendar_is_the_sandbox_feed_and_blocks_slots(live_server, settings,
                                                                     frozen_clock):
    """`make run`: the researcher's meetings, served by the sandbox, block booking times."""
    from datetime import UTC, datetime

    from rally import clock
    from scheduling import host_calendars, services
    from scheduling.models import HostBusyInterval, HostCalendar
    from scheduling.slots import Interval
    from studies.models import Study

    settings.UI_API_URL = f"{live_server.url}/sandbox/ui/api"
    for _ in range(2):
        context = demo.seed()
        studies_demo.seed(context)
        scheduling_demo.seed(context)
    study = Study.objects.get(name="Developer onboarding interviews")
    row = HostCalendar.objects.get()
    assert row.user == study.owner and row.kind == "feed"

    assert host_calendars.host_calendars_sync_due() == 1
    row.refresh_from_db()
    assert row.state == "ok", row.last_error
    busy = [Interval(a, b) for a, b in HostBusyInterval.objects.filter(user=study.owner)
            .values_list("starts_at", "ends_at")]
    standup = Interval(datetime(2026, 6, 2, 13, 30, tzinfo=UTC),
                       datetime(2026, 6, 2, 14, 0, tzinfo=UTC))  # Tuesday 09:30 New York
    assert standup in busy
    scheduling = services.scheduling_settings_ensure(study=study)
    slots = services.study_slots(study=study, scheduling=scheduling, now=clock.now())
    assert slots
    assert not [slot for slot in slots
                if any(Interval(slot.starts_at, slot.ends_at).overlaps(b) for b in busy)]

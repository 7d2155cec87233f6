"""The demo seed: availability and this week's sessions, idempotent."""

import pytest

from demo import sessions as scheduling_demo
from demo import studies as studies_demo
from demo import workspace as workspace_demo
from scheduling.models import SchedulingSettings, Session

pytestmark = pytest.mark.django_db


def test_demo_seed_adds_scheduling_and_sessions_once(frozen_clock):
    for _ in range(2):
        context = workspace_demo.seed()
        studies_demo.seed(context)
        scheduling_demo.seed(context)
    assert SchedulingSettings.objects.count() >= 1
    assert Session.objects.filter(status="upcoming").count() == 2
    assert Session.objects.filter(status="completed").count() == 1


def test_after_the_demo_seed_invitations_go_only_to_sessions_still_ahead(settings):
    """seed_demo books sessions in the past too (completed, no-show, a closed study's): the
    invite sweep sends REQUESTs for the upcoming ones only, each one valid iCalendar."""
    import os
    from datetime import timedelta

    from django.core import mail
    from django.core.management import call_command
    from django.test import override_settings

    from rally import clock
    from scheduling import ics
    from tests.scheduling.invites import invite_read

    with override_settings(DEBUG=True, SANDBOX_ENABLED=False):
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    mail.outbox.clear()
    now = clock.now()
    for session_id in ics.session_invites_due(now=now + timedelta(minutes=3)):
        ics.session_invite_send(session_id=session_id)
    sessions = {session.ics_uid: session for session in Session.objects.exclude(host=None)}
    ended = [s for s in sessions.values() if s.ends_at <= now]
    ahead = [s for s in sessions.values() if s.ends_at > now and s.status == "upcoming"]
    assert ended and ahead  # the demo has both
    invited = {}
    for message in mail.outbox:
        method, event = invite_read(message)
        assert method == "REQUEST"
        invited[str(event["UID"])] = event
    assert set(invited) == {s.ics_uid for s in ahead}
    for uid, event in invited.items():
        assert event.decoded("DTSTART") == sessions[uid].starts_at
        assert event.decoded("SEQUENCE") == sessions[uid].sequence
    # Nothing is due any more: the ended sessions are settled, not retried.
    assert ics.session_invites_due(now=now + timedelta(minutes=3)) == []


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
        context = workspace_demo.seed()
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

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

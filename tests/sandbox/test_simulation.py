"""The live panel: reviews, arrivals, payments and webhooks move on their own, by the clock."""

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache

from rally import clock
from sandbox import simulation, webhooks
from sandbox.models import Applicant, Payment, Recruit
from tests.sandbox.factories import PaymentFactory


def test_the_tick_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["sandbox-simulation-tick"]
    assert entry["task"] == "sandbox.simulation_tick"
    assert entry["schedule"] <= 10


def test_review_finishes_after_the_delay(api, make_recruit):
    recruit_id = make_recruit("pending_review")
    simulation.tick()
    assert Recruit.objects.get(pk=recruit_id).status == "pending_review"
    clock.advance(seconds=settings.SANDBOX_REVIEW_DELAY_SECONDS)
    simulation.tick()
    assert Recruit.objects.get(pk=recruit_id).status == "recruiting"


def test_review_declines_an_empty_description(api, make_recruit):
    recruit_id = make_recruit("pending_review", publicDescription="")
    clock.advance(seconds=settings.SANDBOX_REVIEW_DELAY_SECONDS)
    simulation.tick()
    recruit = Recruit.objects.get(pk=recruit_id)
    assert recruit.status == "declined" and "description" in recruit.declined_reason


def test_review_declines_an_audience_under_25(api, make_recruit):
    audience = {"type": "b2b", "countries": ["IE"], "criteria": [
        {"characteristic": "occupation", "values": ["pharmacist"]},
        {"characteristic": "disability", "values": ["blind"]}]}
    recruit_id = make_recruit("pending_review", audience=audience)
    clock.advance(seconds=settings.SANDBOX_REVIEW_DELAY_SECONDS)
    simulation.tick()
    recruit = Recruit.objects.get(pk=recruit_id)
    assert recruit.status == "declined" and "25" in recruit.declined_reason


def test_a_demo_study_gets_applicants_within_two_minutes(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    arrived_at = None
    for second in range(5, 125, 5):
        clock.advance(seconds=5)
        simulation.tick()
        if Applicant.objects.filter(recruit_id=recruit_id).exists():
            arrived_at = second
            break
    assert arrived_at is not None and arrived_at <= 120


def test_arrivals_grow_with_reach_and_time_scale():
    assert simulation.arrival_rate_per_hour(100_000) > simulation.arrival_rate_per_hour(100)
    assert simulation.arrival_rate_per_hour(0) > 0


def test_arrivals_answer_the_current_screener_and_stop_at_the_cap(api, make_recruit):
    recruit_id = make_recruit("recruiting", numParticipants=2)
    for _ in range(30):
        clock.advance(hours=1)
        simulation.tick()
    applicants = Applicant.objects.filter(recruit_id=recruit_id)
    assert applicants.count() == simulation.applicant_cap(Recruit.objects.get(pk=recruit_id))
    assert all(len(a.screener_responses) >= 2 for a in applicants)


def test_a_share_of_arrivals_comes_through_the_direct_link(api, make_recruit, monkeypatch):
    """Which arrival comes through the link is drawn from the recruit's random id, so the
    share is set to all of them here: the test must not depend on the draw."""
    monkeypatch.setattr(simulation, "DIRECT_LINK_SHARE", 1.0)
    recruit_id = make_recruit("recruiting", numParticipants=2)
    clock.advance(hours=6)
    simulation.tick()
    applicants = Applicant.objects.filter(recruit_id=recruit_id)
    assert applicants.exists()
    assert set(applicants.values_list("source", flat=True)) == {"direct_link"}


def test_paused_recruits_get_no_applicants(api, make_recruit):
    recruit_id = make_recruit("paused")
    clock.advance(hours=5)
    simulation.tick()
    assert not Applicant.objects.filter(recruit_id=recruit_id).exists()


def test_resuming_does_not_release_the_paused_hours_at_once(api, make_recruit):
    recruit_id = make_recruit("paused", numParticipants=50)
    clock.advance(hours=10)
    api.post(f"/recruits/{recruit_id}/resumptions")
    simulation.tick()
    assert Applicant.objects.filter(recruit_id=recruit_id).count() <= 1


def test_payments_and_webhooks_move_on_ticks(api, monkeypatch):
    sent = []
    monkeypatch.setattr(webhooks, "http_client", lambda: httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))))
    api.post("/webhook_subscriptions", {"url": "https://rally.test/hook", "eventTypes": []})
    payment = PaymentFactory()
    simulation.tick()
    simulation.tick()
    assert Payment.objects.get(pk=payment.pk).status == "paid"
    assert len(sent) == 2


def test_only_one_tick_runs_at_a_time(api):
    cache.add(simulation.TICK_LOCK, "1", timeout=60)
    assert simulation.tick() == {"skipped": True}


def test_the_tick_control_runs_the_simulation(api, make_recruit):
    make_recruit("pending_review")
    clock.advance(hours=1)
    response = api.post("/_sandbox/tick")
    assert response.status_code == 200
    assert response.json()["meta"]["reviewed"] == 1


@pytest.mark.parametrize("body", [{"advanceHours": 0}, {"advanceHours": -1},
                                  {"advanceHours": "2"}, {}, {"advanceHours": 1, "x": 1}])
def test_bad_clock_requests_are_422(api, body):
    assert api.post("/_sandbox/clock", body).status_code == 422
    assert clock.offset_seconds() == 0


def test_the_clock_control_moves_rallys_now(api):
    before = clock.now()
    response = api.post("/_sandbox/clock", {"advanceHours": 24})
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["offsetSeconds"] == 86400
    assert (clock.now() - before).total_seconds() >= 86400


def test_reset_wipes_everything_and_resets_the_clock(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 3})
    api.post("/_sandbox/clock", {"advanceHours": 5})
    api.post("/_sandbox/faults", {"path": "/recruits", "status": 500})
    assert api.post("/_sandbox/reset").status_code == 200
    assert not Recruit.objects.exists() and not Applicant.objects.exists()
    assert clock.offset_seconds() == 0
    assert api.get("/recruits").status_code == 200


def test_idempotency_keys_are_forgotten_after_24_hours(api, make_recruit):
    from sandbox.models import IdempotencyRecord

    make_recruit()
    kept = IdempotencyRecord.objects.count()
    clock.advance(hours=25)
    make_recruit()
    assert simulation.tick()["expiredKeys"] == kept
    assert IdempotencyRecord.objects.count() == 1

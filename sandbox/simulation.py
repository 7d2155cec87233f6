"""The live panel: what UI does on its own between Rally's calls.

Every tick (Celery beat, ~5 s): reviews finish after SANDBOX_REVIEW_DELAY_SECONDS,
applicants arrive at a rate that grows with reach (times SANDBOX_TIME_SCALE), payments move
one step, and due webhooks go out. All timing reads the test clock, so advancing it lets
hours pass at once.
"""

import logging
import math
import random
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from rally import clock
from sandbox import services, webhooks
from sandbox.errors import ApiError
from sandbox.gateway import IDEMPOTENCY_WINDOW
from sandbox.models import IdempotencyRecord, Recruit

logger = logging.getLogger(__name__)

TICK_LOCK = "sandbox:simulation-tick"
MAX_ARRIVALS_PER_TICK = 25
DIRECT_LINK_SHARE = 0.12


def arrival_rate_per_hour(reach):
    """Applicants per simulated hour for a recruit of this reach (before the time scale)."""
    return 0.5 + 1.5 * math.log10(max(reach, 0) + 1)


def applicant_cap(recruit):
    """UI stops sending once a recruit has plenty to choose from."""
    return max(30, recruit.num_participants * 6)


def tick():
    if not cache.add(TICK_LOCK, "1", timeout=120):
        return {"skipped": True}
    try:
        return {"reviewed": reviews_finish_due(), "arrived": arrivals_run(),
                "payments": services.payments_advance(),
                "webhooks": webhooks.deliveries_send_due(),
                "expiredKeys": idempotency_records_expire()}
    finally:
        cache.delete(TICK_LOCK)


def idempotency_records_expire(*, batch=5000):
    """Forget idempotency keys past their 24 hours (a replay after that runs anew anyway)."""
    cutoff = clock.now() - IDEMPOTENCY_WINDOW
    stale = IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list(
        "pk", flat=True)[:batch]
    return IdempotencyRecord.objects.filter(pk__in=list(stale)).delete()[0]


def reviews_finish_due():
    due_before = clock.now() - timedelta(seconds=settings.SANDBOX_REVIEW_DELAY_SECONDS)
    finished = 0
    for recruit_id in Recruit.objects.filter(status=Recruit.Status.PENDING_REVIEW,
                                             launched_at__lte=due_before).values_list(
            "id", flat=True):
        try:
            services.recruit_review_finish(recruit_id=recruit_id)
            finished += 1
        except ApiError:
            pass  # someone finished it first
    return finished


def arrivals_run():
    arrived = 0
    for recruit_id in Recruit.objects.filter(status=Recruit.Status.RECRUITING,
                                             intake_open=True).values_list("id", flat=True):
        arrived += recruit_arrivals(recruit_id=recruit_id)
    return arrived


@transaction.atomic(durable=True)
def recruit_arrivals(*, recruit_id):
    recruit = Recruit.objects.select_for_update().get(pk=recruit_id)
    now = clock.now()
    if recruit.status != Recruit.Status.RECRUITING or not recruit.intake_open:
        return 0
    since = recruit.arrivals_checked_at or now
    simulated_hours = max(0.0, (now - since).total_seconds()) * settings.SANDBOX_TIME_SCALE / 3600
    credit = recruit.arrival_credit + arrival_rate_per_hour(recruit.reach) * simulated_hours
    room = max(0, applicant_cap(recruit) - recruit.applicants.count())
    count = min(int(credit), room, MAX_ARRIVALS_PER_TICK)
    recruit.arrival_credit = min(credit - count, 1.0) if count < int(credit) else credit - count
    recruit.arrivals_checked_at = now
    recruit.save(update_fields=["arrival_credit", "arrivals_checked_at"])
    rng = random.Random(f"{recruit.id}:{recruit.members_drawn}")
    direct = sum(1 for _ in range(count) if rng.random() < DIRECT_LINK_SHARE)
    if count - direct:
        services.applicants_add(recruit, count - direct, via_direct_link=False,
                                    meets_criteria=True)
    if direct:
        services.applicants_add(recruit, direct, via_direct_link=True,
                                    meets_criteria=rng.random() < 0.5)
    return count

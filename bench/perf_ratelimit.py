"""perf-ratelimit: 500 due payouts at UI's limit of 60 requests a minute (burst 20), two
worker processes: how close to the limit the queue drains, and how many requests UI
answered 429.

The sandbox enforces the limit per API key (its own bucket in Postgres); Rally's side is the
shared bucket of `recruitment.user_interviews.ratelimit` (in Redis), fed by UI's
X-RateLimit-Remaining and 429s. Each worker does what Celery does in production: run the
payouts sweep's batch (`outbox_execute_batch`, background priority), and every
SWEEP_SECONDS (beat's outbox sweep) run the rows that waited for a token. Runs in a database
of its own; the sandbox is served in-process through httpx's WSGI transport.

Figures: the drain rate (payments made per second ÷ the limit's rate, from the first sweep
until every payout is Sent) and the share of requests answered 429. It takes about eight
minutes by design (500 requests at one a second, less the burst).
"""

import multiprocessing
import time
import uuid
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import connection

from bench.perf_payouts import _key, _study_at_ui
from bench.support import own_database

PAYOUTS = 500
STUDIES = 4
WORKERS = 2
BATCH = 100
LIMIT_PER_MINUTE = 60
BURST = 20
SWEEP_SECONDS = 15.0
DRAIN_TARGET = 0.90
REFUSED_TARGET = 0.02


class Counting(httpx.BaseTransport):
    """The WSGI transport, counting UI's answers by status."""

    def __init__(self, inner):
        self.inner = inner
        self.answers = {}

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        self.answers[response.status_code] = self.answers.get(response.status_code, 0) + 1
        return response


def _limits():
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = LIMIT_PER_MINUTE
    settings.SANDBOX_RATE_LIMIT_BURST = BURST
    settings.UI_RATE_LIMIT_PER_MINUTE = LIMIT_PER_MINUTE
    settings.UI_RATE_LIMIT_BURST = BURST


def _client(transport):
    from recruitment.user_interviews.client import UIClient
    from recruitment.user_interviews.ratelimit import SharedTokenBucket

    key = settings.SANDBOX_API_KEYS[0]
    return UIClient(base_url="http://testserver/sandbox/ui/api", api_key=key,
                    transport=transport, timeout=120, metered=False,
                    rate_limiter=SharedTokenBucket.from_settings(api_key=key))


def _setup():
    from billing.services import budget_add_funds_nested, budget_default_ensure
    from rally.models import Membership, User, Workspace
    from rally.permissions import Role
    from rally.wsgi import application
    from recruitment.user_interviews.client import UIClient

    workspace = Workspace.objects.create(name="Bench rate limit")
    owner = User.objects.create_user(email=f"bench-rate-{uuid.uuid4().hex[:8]}@example.test")
    membership = Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds_nested(membership=membership, budget=budget,
                            amount=Decimal(PAYOUTS * 100), reference="Bench", key=uuid.uuid4())
    # Set-up runs with the limits out of the way; the measured part runs under them.
    with UIClient(base_url="http://testserver/sandbox/ui/api",
                  api_key=settings.SANDBOX_API_KEYS[0], timeout=120,
                  transport=httpx.WSGITransport(app=application)) as client:
        for n in range(STUDIES):
            _study_at_ui(client, workspace=workspace, owner=owner, budget=budget,
                         count=PAYOUTS // STUDIES, n=n)


def _worker(go, results):
    from django.core.cache import cache

    from billing.payouts import payouts_send_due
    from rally.models import OutboxOperation
    from rally.wsgi import application
    from recruitment import outbox
    from recruitment.user_interviews.ratelimit import BACKGROUND

    _limits()
    transport = Counting(httpx.WSGITransport(app=application))
    client = _client(transport)
    go.wait()
    next_sweep = time.monotonic() + SWEEP_SECONDS
    try:
        while True:
            sent = payouts_send_due(limit=BATCH)
            if sent:
                rows = OutboxOperation.objects.filter(
                    operation="create_payment",
                    idempotency_key__in=[_key(payout_id) for payout_id in sent])
                outbox.outbox_execute_batch(operation_ids=list(rows.values_list("pk", flat=True)),
                                            client=client, priority=BACKGROUND)
                continue
            pending = OutboxOperation.objects.filter(operation="create_payment",
                                                     status="pending")
            if not pending.exists():
                return
            if time.monotonic() < next_sweep:
                time.sleep(0.2)
                continue
            next_sweep = time.monotonic() + SWEEP_SECONDS
            # Beat's outbox sweep, its dispatches run by this worker (as Celery would).
            queued = []
            original = outbox.outbox_dispatch
            outbox.outbox_dispatch = queued.append
            try:
                outbox.outbox_sweep()
            finally:
                outbox.outbox_dispatch = original
            outbox.outbox_execute_batch(operation_ids=queued, client=client,
                                        priority=BACKGROUND)
            cache.delete_many([f"outbox:swept:{pk}" for pk in queued])
    finally:
        results.put(transport.answers)
        client.close()
        connection.close()


def _measure():
    from billing.models import Payout
    from sandbox.models import Payment

    _setup()
    connection.close()
    _limits()
    from django.core.cache import cache

    cache.clear()  # Rally's bucket starts full, as UI's does
    from sandbox.models import RateBucket

    RateBucket.objects.all().delete()
    connection.close()
    context = multiprocessing.get_context("fork")
    go, results = context.Barrier(WORKERS + 1), context.Queue()
    workers = [context.Process(target=_worker, args=(go, results)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    go.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    answers = {}
    for _ in workers:
        for status, count in results.get(timeout=30).items():
            answers[status] = answers.get(status, 0) + count
    if any(worker.exitcode for worker in workers):
        raise RuntimeError("a worker failed")
    sent = Payout.objects.filter(state__in=["sent", "paid"]).count()
    payments = Payment.objects.count()
    requests = sum(answers.values())
    return seconds, sent, payments, requests, answers.get(429, 0)


def run():
    with own_database("ratelimit", sandbox=True):
        seconds, sent, payments, requests, refused = _measure()
    # Every request counts against the limit: payments and the session lookups before them.
    drained = (requests - refused) / seconds / (LIMIT_PER_MINUTE / 60)
    refused_share = refused / requests if requests else 1.0
    complete = sent == payments == PAYOUTS
    return {
        "perf-ratelimit": {"value": round(drained, 3),
                           "target": f">= {DRAIN_TARGET:g} of the limit (all {PAYOUTS} paid "
                                     f"once)",
                           "unit": f"× {LIMIT_PER_MINUTE}/min", "ok": complete
                           and drained >= DRAIN_TARGET},
        "perf-ratelimit-429": {"value": round(refused_share, 4),
                               "target": f"<= {REFUSED_TARGET:g}",
                               "unit": f"of {requests} requests",
                               "ok": refused_share <= REFUSED_TARGET},
        "perf-ratelimit-seconds": {"value": round(seconds), "target": "(informational)",
                                   "unit": "s to drain", "ok": True},
    }

"""Metrics for Prometheus at /metrics (prometheus-client).

Request latency is observed by each web process (`rally.middleware.request_log`); with
several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty folder shared by them) so a
scrape sums every worker. The rest is read from the database and Redis at scrape time, so
every process answers the same: the outbox backlog and its oldest due operation, payouts due
and overdue, webhook lag (the oldest event not processed yet), and 429s from User Interviews
(counted in Redis by every process's client).

The endpoint answers only with `Authorization: Bearer <METRICS_TOKEN>`; without a token set
it is off (404).
"""

import hmac
import os
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from billing.models import Payout
from rally import clock
from rally.models import OutboxOperation
from recruitment.models import WebhookEvent
from recruitment.user_interviews.ratelimit import rate_limited_total

#: A due payout not sent within two sweeps of the payouts sweeper (every 30 s) is overdue.
PAYOUT_OVERDUE_AFTER = timedelta(seconds=60)


def _age(now, moment):
    return (now - moment).total_seconds() if moment else 0.0


class RallyCollector:
    """Figures read at scrape time (a handful of indexed aggregate queries)."""

    def collect(self):
        now = clock.now()
        outbox = OutboxOperation.objects.filter(
            status=OutboxOperation.Status.PENDING).aggregate(
            waiting=Count("pk"), oldest=Min("created_at"))
        due = OutboxOperation.objects.filter(
            status=OutboxOperation.Status.PENDING, next_attempt_at__lte=now).aggregate(
            oldest=Min("created_at"))
        yield GaugeMetricFamily("rally_outbox_backlog", "Operations waiting to be performed "
                                "at User Interviews.", value=outbox["waiting"])
        yield GaugeMetricFamily("rally_outbox_oldest_age_seconds", "Age of the oldest due "
                                "operation waiting for User Interviews.",
                                value=_age(now, due["oldest"]))
        payouts = Payout.objects.filter(state=Payout.State.NOT_SENT, due_at__lte=now)
        yield GaugeMetricFamily("rally_payouts_due", "Incentives due and not sent yet.",
                                value=payouts.count())
        yield GaugeMetricFamily("rally_payouts_overdue", "Incentives due for longer than two "
                                "sweeps and still not sent.",
                                value=payouts.filter(due_at__lte=now - PAYOUT_OVERDUE_AFTER)
                                .count())
        oldest_event = WebhookEvent.objects.filter(processed_at__isnull=True).aggregate(
            oldest=Min("received_at"))["oldest"]
        yield GaugeMetricFamily("rally_webhook_lag_seconds", "Age of the oldest webhook event "
                                "received and not processed yet.",
                                value=_age(now, oldest_event))
        refused = CounterMetricFamily("rally_ui_rate_limited", "Requests User Interviews "
                                      "answered 429 Too Many Requests.")
        refused.add_metric([], rate_limited_total())
        yield refused


def _registry():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in list(REGISTRY._collector_to_names):
            registry.register(collector)
    registry.register(RallyCollector())
    return registry


def metrics(request):
    """GET /metrics for Prometheus (bearer token: METRICS_TOKEN)."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

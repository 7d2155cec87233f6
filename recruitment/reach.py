"""Audience Reach: UI's estimate for a study's audience, cached, and never an error page.

Estimates are cached by a fingerprint of what UI is asked (audience, type, size, length),
so flipping a criterion back and forth costs no second call. The last answer per study is
kept longer: when UI can't be reached the panel shows it, marked stale, and keeps working.
"""

import hashlib
import json
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.cache import cache

from recruitment.connections import ui_client_for
from recruitment.user_interviews import errors
from studies.selectors import study_audience_payload

FRESH_SECONDS = 15 * 60
LAST_KNOWN_SECONDS = 30 * 24 * 3600
REQUEST_TIMEOUT_SECONDS = 3.0
BELOW_THRESHOLD = 25
UNREACHABLE_STALE = "User Interviews can't be reached right now — showing the last estimate"
NOT_CONNECTED = ("Connect this workspace's User Interviews account (Workspace settings → "
                 "User Interviews) to see Audience Reach.")
UNREACHABLE_EMPTY = ("User Interviews can't be reached right now — the estimate appears "
                     "when it's back")


@dataclass(frozen=True)
class Reach:
    reach: int | None  # None when there is no estimate to show
    below_threshold: bool = False
    feasibility: str = ""  # high | medium | low | infeasible
    estimated_days_to_fill: int | None = None
    stale: bool = False
    message: str = ""

    @property
    def reach_display(self):
        return f"{self.reach:,}" if self.reach is not None else ""

    @property
    def feasibility_label(self):
        return self.feasibility.capitalize()

    def as_cached(self):
        return {"reach": self.reach, "below_threshold": self.below_threshold,
                "feasibility": self.feasibility,
                "estimated_days_to_fill": self.estimated_days_to_fill}


def estimate_request(study):
    """What UI is asked for this study (also the cache fingerprint's input)."""
    return {"audience": study_audience_payload(study), "study_type": study.study_type,
            "num_participants": study.participation_limit or 1,
            "duration_minutes": study.duration_minutes}


def _fingerprint(request):
    encoded = json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def reach_client(workspace_id=None):
    """A client for the page's request cycle, with the workspace's own key: short timeout,
    one attempt, no waiting."""
    return ui_client_for(workspace_id, timeout=min(settings.UI_API_TIMEOUT_SECONDS,
                                                   REQUEST_TIMEOUT_SECONDS),
                         max_attempts=1, rate_limit_budget_seconds=0)


def audience_reach(*, study, client=None):
    """The study's Audience Reach; on UI failure the last known value, marked stale."""
    request = estimate_request(study)
    fresh_key = f"recruitment:reach:{_fingerprint(request)}"
    last_key = f"recruitment:reach:last:{study.pk}"
    found = cache.get_many([fresh_key, last_key])  # one round trip on the hot path
    cached = found.get(fresh_key)
    if cached is not None:
        if found.get(last_key) != cached:
            cache.set(last_key, cached, LAST_KNOWN_SECONDS)
        return Reach(**cached)
    owned = client is None
    try:
        client = client or reach_client(study.workspace_id)
    except errors.NotConnected:
        return Reach(reach=None, message=NOT_CONNECTED)
    try:
        estimate = client.estimate_create(**request)
    except errors.Permanent as error:
        # UI refuses this audience as it stands (e.g. b2b without a professional criterion).
        return Reach(reach=None, message=f"No estimate for this audience yet: {error.detail}"
                     if error.detail else "No estimate for this audience yet.")
    except errors.UIError:
        last = found.get(last_key)
        if last is None:
            return Reach(reach=None, stale=True, message=UNREACHABLE_EMPTY)
        return replace(Reach(**last), stale=True, message=UNREACHABLE_STALE)
    finally:
        if owned:
            client.close()
    reach = Reach(reach=estimate.reach,
                  below_threshold=estimate.reach_below_threshold
                  or estimate.reach < BELOW_THRESHOLD,
                  feasibility=estimate.feasibility.value,
                  estimated_days_to_fill=estimate.estimated_days_to_fill)
    cache.set(fresh_key, reach.as_cached(), FRESH_SECONDS)
    cache.set(last_key, reach.as_cached(), LAST_KNOWN_SECONDS)
    return reach

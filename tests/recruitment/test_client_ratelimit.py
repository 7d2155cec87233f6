"""The shared token bucket (real Redis) that keeps all of Rally's workers under UI's limit."""

import httpx
import pytest
from django.conf import settings as django_settings

from recruitment.user_interviews import errors
from recruitment.user_interviews.client import MEDIA_TYPE, UIClient
from recruitment.user_interviews.ratelimit import BACKGROUND, SharedTokenBucket

# The bucket reads Rally's clock (the test clock's row when the sandbox is on).
pytestmark = pytest.mark.django_db


def bucket(per_minute=60, burst=3, api_key="bench-key"):
    made = SharedTokenBucket(url=django_settings.REDIS_URL, api_key=api_key,
                             per_minute=per_minute, burst=burst)
    made.reset()
    return made


def let_time_pass(shared, seconds):
    """Move the bucket's last refill back, as if `seconds` had passed."""
    at = float(shared.redis.hget(shared.key, "at"))
    shared.redis.hset(shared.key, "at", str(at - seconds))


def test_a_burst_then_a_wait_of_one_refill():
    shared = bucket(per_minute=60, burst=3)
    assert [shared.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 0.9 < shared.take() <= 1.0


def test_two_workers_share_one_bucket_per_api_key():
    first, second = bucket(burst=2), bucket(burst=2)
    assert first.take() == 0.0 and second.take() == 0.0
    assert first.take() > 0 and second.take() > 0
    other_key = bucket(burst=2, api_key="another-key")
    assert other_key.take() == 0.0


def test_tokens_come_back_with_time():
    shared = bucket(per_minute=60, burst=1)
    shared.take()
    let_time_pass(shared, 1.0)
    assert shared.take() == 0.0


def test_client_waits_for_a_token_before_sending():
    shared = bucket(per_minute=60, burst=1)
    requests, naps = [], []

    def sleep(seconds):
        naps.append(seconds)
        let_time_pass(shared, seconds)

    def answer(request):
        requests.append(request)
        return httpx.Response(200, headers={"Content-Type": MEDIA_TYPE}, json={
            "data": [], "links": {}, "meta": {"pagination": {
                "currentPage": 1, "pageSize": 200, "totalPages": 1, "totalCount": 0}}})

    client = UIClient(base_url="http://ui.test/api", api_key="k", rate_limiter=shared,
                      transport=httpx.MockTransport(answer), sleep=sleep)
    client.characteristics_list()
    client.characteristics_list()
    assert len(requests) == 2
    assert len(naps) == 1 and 0.9 < naps[0] <= 1.0


def test_client_gives_up_without_calling_when_the_wait_exceeds_its_budget():
    shared = bucket(per_minute=1, burst=1)
    shared.take()
    requests = []
    client = UIClient(base_url="http://ui.test/api", api_key="k", rate_limiter=shared,
                      rate_limit_budget_seconds=5, sleep=lambda s: None,
                      transport=httpx.MockTransport(lambda r: requests.append(r)))
    with pytest.raises(errors.RateLimited) as caught:
        client.characteristics_list()
    assert caught.value.retry_after > 5 and requests == []


def test_the_bucket_follows_the_settings_and_needs_the_redis_cache(settings):
    settings.UI_RATE_LIMIT_PER_MINUTE = 0
    assert SharedTokenBucket.from_settings() is None
    assert UIClient.from_settings().rate_limiter is None
    settings.UI_RATE_LIMIT_PER_MINUTE = 120
    settings.UI_RATE_LIMIT_BURST = 10
    configured = SharedTokenBucket.from_settings()
    assert (configured.rate, configured.burst, configured.reserve) == (2.0, 10, 2)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert SharedTokenBucket.from_settings() is None


def test_background_work_leaves_tokens_for_people():
    shared = bucket(per_minute=60, burst=8)  # keeps 2 for interactive work
    assert [shared.take(BACKGROUND) for _ in range(6)] == [0.0] * 6
    assert shared.take(BACKGROUND) > 0
    assert shared.take() == 0.0 and shared.take() == 0.0  # a person still gets through
    assert shared.take() > 0


def test_uis_remaining_count_and_a_429_feed_the_bucket():
    shared = bucket(per_minute=60, burst=20)
    shared.observe(remaining=1)  # another process spent the rest at UI
    assert shared.take() == 0.0 and shared.take() > 0
    let_time_pass(shared, 5)
    shared.observe(hold_seconds=30)  # UI answered 429 with Retry-After: 30
    assert 29 < shared.take() <= 30


def test_the_client_feeds_the_bucket_from_every_answer():
    shared = bucket(per_minute=60, burst=20)

    def answer(request):
        return httpx.Response(200, headers={"Content-Type": MEDIA_TYPE,
                                            "X-RateLimit-Remaining": "0"}, json={
            "data": [], "links": {}, "meta": {"pagination": {
                "currentPage": 1, "pageSize": 200, "totalPages": 1, "totalCount": 0}}})

    client = UIClient(base_url="http://ui.test/api", api_key="k", rate_limiter=shared,
                      metered=False, transport=httpx.MockTransport(answer))
    client.characteristics_list()
    assert shared.take() > 0  # UI said none is left: nobody sends until one comes back


def test_an_unreachable_redis_lets_requests_through():
    shared = SharedTokenBucket(url="redis://127.0.0.1:1/0", api_key="k", per_minute=60,
                               burst=1)
    assert shared.take() == 0.0

"""One token bucket per User Interviews API key in Redis, shared by every worker and web
process, so Rally as a whole stays under UI's limit instead of learning it from 429s.

- Rate and burst: `UI_RATE_LIMIT_PER_MINUTE` (default 60, UI's documented limit; 0 turns
  the bucket off) and `UI_RATE_LIMIT_BURST` (default 20).
- Fed by UI's own answers: `X-RateLimit-Remaining` lowers the tokens to what UI says is
  left (another Rally, a clock jump, a second deployment on the same key); a 429's
  Retry-After holds the bucket shut until then, so no worker keeps knocking.
- Priority: user-facing work (a manual payment, a start, a page) may spend every token;
  background sweeps and polls leave `reserve` tokens for it, so a person's action never
  queues behind a sweep of 500 payouts.
The bucket lives in the cache's Redis (the same server as the broker in production).
Without Redis (the filesystem broker fallback) there is nothing to share: UI's own 429s and
Retry-After still hold the line.
"""

import hashlib
import logging

import redis
from django.conf import settings
from django.core.cache import cache

from rally import clock

logger = logging.getLogger(__name__)

INTERACTIVE = "interactive"
BACKGROUND = "background"

# Refill by the time passed, then take a token if there is one beyond `keep` (the tokens
# left for interactive work) and the bucket is not held shut. Returns the seconds until a
# token is available ("0" when taken). `now` is Rally's clock (rally.clock), the one UI's
# sandbox and the tests move too; a clock going backwards refills nothing.
_TAKE = """
local rate, burst, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'held')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
local held = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if held > now then
  wait = held - now
elseif tokens >= 1 + keep then
  tokens = tokens - 1
else
  wait = (1 + keep - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 3600)
return tostring(wait)
"""

# What UI says: at most `remaining` tokens are left; when `hold` > 0, none until then.
_OBSERVE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local remaining, hold = tonumber(ARGV[3]), tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'held')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
local held = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if remaining >= 0 then tokens = math.min(tokens, remaining) end
if hold > 0 then
  tokens = 0
  held = math.max(held, now + hold)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now), 'held',
           tostring(held))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 3600)
return tostring(tokens)
"""


_connections = {}


def _redis(url):
    """One connection pool per URL for the process (clients come and go per task)."""
    if url not in _connections:
        _connections[url] = redis.Redis.from_url(url, socket_timeout=2.0)
    return _connections[url]


def _cache_redis():
    """The cache's own Redis client, or None when the cache is not Redis."""
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    return get_client(None, write=True) if get_client is not None else None


class SharedTokenBucket:
    def __init__(self, *, url=None, api_key, per_minute, burst, reserve=None, client=None):
        if per_minute <= 0 or burst < 1:
            raise ValueError("A rate limit needs a positive rate and a burst of at least 1.")
        self.rate = per_minute / 60.0
        self.burst = burst
        # Tokens background work leaves for people: a quarter of the burst (at least one,
        # and never all of it).
        self.reserve = min(burst - 1, max(1, burst // 4)) if reserve is None else reserve
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self.key = f"rally:ui-rate:{digest}"
        self.redis = client if client is not None else _redis(url)
        self.take_script = self.redis.register_script(_TAKE)
        self.observe_script = self.redis.register_script(_OBSERVE)

    @classmethod
    def from_settings(cls, api_key=None):
        """The bucket of `api_key` (default UI_API_KEY), or None when the limit is off or
        there is no Redis."""
        per_minute = getattr(settings, "UI_RATE_LIMIT_PER_MINUTE", 60)
        client = _cache_redis() if per_minute else None
        if client is None:
            return None
        burst = getattr(settings, "UI_RATE_LIMIT_BURST", 0) or max(1, per_minute // 3)
        return cls(client=client, api_key=api_key or settings.UI_API_KEY or "",
                   per_minute=per_minute, burst=burst)

    def take(self, priority=INTERACTIVE):
        """Take a token: 0.0 when taken, else the seconds to wait before asking again.

        With Redis unreachable the request goes ahead: UI's own 429s still hold the line.
        """
        keep = self.reserve if priority == BACKGROUND else 0
        try:
            return float(self.take_script(keys=[self.key], args=[
                self.rate, self.burst, keep, clock.now().timestamp()]))
        except redis.RedisError as error:
            logger.warning("UI rate-limit bucket unavailable, sending anyway: %s", error)
            return 0.0

    def observe(self, *, remaining=None, hold_seconds=0.0):
        """Align with what UI answered: its X-RateLimit-Remaining, or a 429's wait."""
        try:
            self.observe_script(keys=[self.key], args=[
                self.rate, self.burst, -1 if remaining is None else max(0, remaining),
                max(0.0, hold_seconds), clock.now().timestamp()])
        except redis.RedisError as error:
            logger.warning("UI rate-limit bucket unavailable: %s", error)

    def reset(self):
        self.redis.delete(self.key)


_RATE_LIMITED = "rally:ui-rate-limited-total"


def rate_limited_record():
    """Count one 429 from UI (every process adds to one counter, for /metrics)."""
    client = _cache_redis()
    if client is None:
        return
    try:
        client.incr(_RATE_LIMITED)
    except redis.RedisError:
        return


def rate_limited_total():
    client = _cache_redis()
    try:
        return int(client.get(_RATE_LIMITED) or 0) if client is not None else 0
    except redis.RedisError:
        return 0

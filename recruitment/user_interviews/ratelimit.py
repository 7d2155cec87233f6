"""One token bucket per API key in Redis, shared by every worker and web process.

UI allows so many requests a minute per key; the bucket spends them here instead of
learning the limit from 429s, so several workers together stay under it. On by setting
`UI_API_RATE_LIMIT_PER_MINUTE` (and `UI_API_RATE_LIMIT_BURST`); without Redis (the
filesystem broker fallback) there is nothing to share and the client relies on 429s.
"""

import hashlib
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Refill, then take a token if there is one. Returns how many seconds until one is
# available ("0" when taken). Redis's own clock, so workers' clocks need not agree.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


_connections = {}


def _redis(url):
    """One connection pool per URL for the process (clients come and go per task)."""
    if url not in _connections:
        _connections[url] = redis.Redis.from_url(url, socket_timeout=2.0)
    return _connections[url]


class SharedTokenBucket:
    def __init__(self, *, url, api_key, per_minute, burst):
        if per_minute <= 0 or burst < 1:
            raise ValueError("A rate limit needs a positive rate and a burst of at least 1.")
        self.rate = per_minute / 60.0
        self.burst = burst
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self.key = f"rally:ui-rate:{digest}"
        self.redis = _redis(url)
        self.script = self.redis.register_script(_TAKE)

    @classmethod
    def from_settings(cls, api_key=None):
        """The configured bucket of `api_key` (default UI_API_KEY), or None when no limit
        is set or there is no Redis."""
        per_minute = getattr(settings, "UI_API_RATE_LIMIT_PER_MINUTE", 0)
        url = settings.REDIS_URL
        if not per_minute or not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        burst = getattr(settings, "UI_API_RATE_LIMIT_BURST", 0) or max(1, per_minute // 3)
        return cls(url=url, api_key=api_key or settings.UI_API_KEY,
                   per_minute=per_minute, burst=burst)

    def take(self):
        """Take a token: 0.0 when taken, else the seconds to wait before asking again.

        With Redis unreachable the request goes ahead: UI's own 429s still hold the line.
        """
        try:
            return float(self.script(keys=[self.key], args=[self.rate, self.burst]))
        except redis.RedisError as error:
            logger.warning("UI rate-limit bucket unavailable, sending anyway: %s", error)
            return 0.0

    def reset(self):
        self.redis.delete(self.key)

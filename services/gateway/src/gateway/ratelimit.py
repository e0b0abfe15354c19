"""Fixed-window rate limits in Redis, one atomic round trip per check."""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

# INCR and the first PEXPIRE in one script: a crash between them can never leave a counter
# without an expiry (which would lock a client out for good).
_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


@dataclass(frozen=True)
class Decision:
    """The outcome of one check."""

    allowed: bool
    count: int
    limit: int
    retry_after_s: int


class RateLimiter:
    """Count calls per key and window; refuse past the limit."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, bucket: str, ident: str, limit: int, window_s: int) -> Decision:
        """Count one call of `ident` in `bucket` and say whether it is within `limit`."""
        key = f"{self._prefix}gw:rl:{bucket}:{ident}"
        count, ttl_ms = await self._script(keys=[key], args=[int(window_s * 1000)])
        count, ttl_ms = int(count), int(ttl_ms)
        return Decision(allowed=count <= limit, count=count, limit=limit,
                        retry_after_s=max(1, math.ceil(ttl_ms / 1000)))

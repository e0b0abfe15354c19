"""Fixed-window rate limits in Redis, one atomic round trip per check."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from contracts.errors import ErrorCode

from .errors import HttpError

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

    def key(self, bucket: str, ident: str) -> str:
        """Return the counter's Redis key."""
        return f"{self._prefix}gw:rl:{bucket}:{ident}"

    async def hit(self, bucket: str, ident: str, limit: int, window_s: int) -> Decision:
        """Count one call of `ident` in `bucket` and say whether it is within `limit`."""
        reply = await self._script(keys=[self.key(bucket, ident)], args=[int(window_s * 1000)])
        return decide(reply, limit)

    def queue(self, pipe: Any, bucket: str, ident: str, window_s: int) -> None:
        """Add the same check to a pipeline (to share a round trip); `decide` reads its reply."""
        pipe.scripts.add(self._script)  # loaded by the pipeline first if Redis lacks it
        pipe.evalsha(self._script.sha, 1, self.key(bucket, ident), int(window_s * 1000))


def decide(reply: Any, limit: int) -> Decision:
    """Turn the script's {count, ttl_ms} into a decision."""
    count, ttl_ms = int(reply[0]), int(reply[1])
    return Decision(allowed=count <= limit, count=count, limit=limit,
                    retry_after_s=max(1, math.ceil(ttl_ms / 1000)))


@dataclass(frozen=True)
class RateCheck:
    """A rate limit to count in the same Redis round trip as the session check."""

    limiter: RateLimiter
    bucket: str
    limit: int
    window_s: int


def enforce(decision: Decision) -> None:
    """Raise 429 with Retry-After when the decision refuses the call."""
    if not decision.allowed:
        raise HttpError.of(
            ErrorCode.RATE_LIMITED,
            f"Too many requests; try again in {decision.retry_after_s} s",
            details={"retryAfter": decision.retry_after_s, "limit": decision.limit},
            headers={"Retry-After": str(decision.retry_after_s)},
        )

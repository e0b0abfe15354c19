"""Reference-counted, expiring instrument leases in Redis.

Per instrument a sorted set `md:lease:<segment>:<securityId>` maps owner -> expiry (wall ms);
its size is the reference count. `md:leased` lists instruments with any lease and
`md:owner:<owner>` what one owner holds (for release-all). Leases use the wall clock: they
are a liveness signal renewed by holders in real time, not business time.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

Key = tuple[str, str]


class Leases:
    """Acquire, renew, release and sweep leases; `active()` is what the feed must carry."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._r = redis
        self._p = prefix

    def _lease(self, key: Key) -> str:
        return f"{self._p}md:lease:{key[0]}:{key[1]}"

    def _owner(self, owner: str) -> str:
        return f"{self._p}md:owner:{owner}"

    @property
    def _leased(self) -> str:
        return f"{self._p}md:leased"

    async def acquire(self, owner: str, keys: list[Key], ttl_s: int) -> float:
        """Take or renew `owner`'s lease on instruments; return the expiry (epoch seconds)."""
        expires = time.time() + ttl_s
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.zadd(self._lease(key), {owner: int(expires * 1000)})
            pipe.expire(self._lease(key), ttl_s + 60)
            pipe.sadd(self._leased, f"{key[0]}:{key[1]}")
            pipe.sadd(self._owner(owner), f"{key[0]}:{key[1]}")
        pipe.expire(self._owner(owner), ttl_s + 60)
        await pipe.execute()
        return expires

    async def release(self, owner: str, keys: list[Key] | None) -> int:
        """Drop `owner`'s leases (all when keys is None); return how many were held."""
        if keys is None:
            members = await self._r.smembers(self._owner(owner))
            keys = [tuple(m.decode().split(":", 1)) for m in members]  # type: ignore[misc]
        if not keys:
            return 0
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.zrem(self._lease(key), owner)
            pipe.srem(self._owner(owner), f"{key[0]}:{key[1]}")
        results = await pipe.execute()
        return sum(int(r) for r in results[::2])

    async def active(self) -> dict[Key, int]:
        """Expire overdue leases and return instrument -> live reference count."""
        members = [m.decode() for m in await self._r.smembers(self._leased)]
        if not members:
            return {}
        now_ms = int(time.time() * 1000)
        pipe = self._r.pipeline(transaction=False)
        keys = [tuple(m.split(":", 1)) for m in members]
        for key in keys:
            pipe.zremrangebyscore(self._lease(key), "-inf", now_ms)
            pipe.zcard(self._lease(key))
        results = await pipe.execute()
        out: dict[Key, int] = {}
        dead = []
        for i, key in enumerate(keys):
            count = int(results[2 * i + 1])
            if count:
                out[key] = count  # type: ignore[index]
            else:
                dead.append(members[i])
        if dead:
            await self._r.srem(self._leased, *dead)
        return out

"""The Redis rate limiter: atomic counts per window, Retry-After from the window's end."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from gateway.ratelimit import RateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
async def limiter(redis_url, redis_prefix):
    r = aioredis.from_url(redis_url)
    yield RateLimiter(r, redis_prefix), r
    await r.aclose()


async def test_counts_up_to_the_limit_then_refuses(limiter):
    rl, _ = limiter
    results = [await rl.hit("auth-ip", "10.0.0.1", 3, 60) for _ in range(5)]
    assert [d.allowed for d in results] == [True, True, True, False, False]
    assert all(1 <= d.retry_after_s <= 60 for d in results)
    assert (await rl.hit("auth-ip", "10.0.0.2", 3, 60)).allowed


async def test_concurrent_hits_are_counted_exactly(limiter):
    rl, _ = limiter
    results = await asyncio.gather(*(rl.hit("user", "u1", 10, 60) for _ in range(50)))
    assert sum(d.allowed for d in results) == 10
    assert sorted(d.count for d in results) == list(range(1, 51))


async def test_window_expires(limiter, redis_prefix):
    rl, r = limiter
    assert (await rl.hit("user", "u2", 1, 60)).allowed
    assert not (await rl.hit("user", "u2", 1, 60)).allowed
    await r.pexpire(f"{redis_prefix}gw:rl:user:u2", 1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await r.exists(f"{redis_prefix}gw:rl:user:u2"):
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    assert (await rl.hit("user", "u2", 1, 60)).allowed


async def test_keys_live_under_the_prefix_and_expire(limiter, redis_prefix):
    rl, r = limiter
    await rl.hit("user", "u3", 5, 30)
    ttl = await r.pttl(f"{redis_prefix}gw:rl:user:u3")
    assert 0 < ttl <= 30_000

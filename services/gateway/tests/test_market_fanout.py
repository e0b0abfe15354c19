"""The gateway-side fan-out: conflation for slow clients, leases follow browser subscriptions."""

from __future__ import annotations

import asyncio
import time

from gateway.market import Conflator


async def until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll an (async or sync) predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(interval)

KEY = ("NSE_EQ", "2885")


async def test_conflator_keeps_only_the_latest_tick_per_instrument():
    c = Conflator()
    for i in range(100):
        c.offer(KEY, str(i))
    c.offer(("NSE_EQ", "1333"), "x")
    batch = await c.next_batch()
    assert batch == [(KEY, "99"), (("NSE_EQ", "1333"), "x")]
    assert (c.offered, c.conflated) == (101, 99)

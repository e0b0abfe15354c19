"""The gateway-side fan-out: conflation for slow clients, leases follow browser subscriptions."""

from __future__ import annotations

import asyncio
import time

import pytest
from gateway.market import Conflator, MarketFanout


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
        c.offer(KEY, b"%d" % i)
    c.offer(("NSE_EQ", "1333"), b"x")
    batch = await c.next_batch()
    assert batch == [(KEY, b"99"), (("NSE_EQ", "1333"), b"x")]
    assert (c.offered, c.conflated) == (101, 99)


@pytest.mark.integration
async def test_browser_subscriptions_lease_fan_out_and_release(sim, app_for):
    async with app_for() as rt:
        fan = MarketFanout(rt.nc, owner="gw-test", lease_ttl_s=30)
        fast, slow = fan.attach("ws-1"), fan.attach("ws-2")
        await fan.subscribe("ws-1", [KEY])
        await fan.subscribe("ws-2", [KEY])
        assert (await rt.marketdata.leases.active()) == {KEY: 1}, "one lease per gateway process"
        sim.set_clock(speed=60, paused=False)
        await rt.clock.sync()
        first = await fast.next_batch()
        assert first[0][0] == KEY
        await until(lambda: slow.conflated > 0, timeout=15)
        assert len(await slow.next_batch()) == 1, "a slow client gets only the latest tick"
        await fan.detach("ws-1")
        assert fan.instruments == 1
        await fan.detach("ws-2")
        assert fan.instruments == 0 and await rt.marketdata.leases.active() == {}
        await until(lambda: KEY not in rt.marketdata.feed.assigned)

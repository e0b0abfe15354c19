"""Feed resilience against the simulator: reconnect, fatal codes, silent stalls."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from contracts import marketdata as md
from svckit.nats import request

from .conftest import until

pytestmark = pytest.mark.integration
RELIANCE = md.InstrumentRef(segment="NSE_EQ", security_id="2885")


class StallProxy:
    """A TCP proxy that can go silent without closing anything (a stalled feed)."""

    def __init__(self, upstream_port: int) -> None:
        self._port = upstream_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader, writer) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self._port)
        for src, dst in ((reader, up_w), (up_r, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)

    async def _pump(self, src, dst) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                await self.flowing.wait()
                dst.write(data)
                await dst.drain()
        dst.close()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server:
            self._server.close()


async def _lease(rt) -> None:
    await request(rt.nc, md.LEASE, md.LeaseInstruments(owner="t", instruments=[RELIANCE]),
                  reply_model=md.LeaseGranted)


def _names(rt) -> list[str]:
    return [name for name, _ in rt.feed_events.sent]


async def test_dropped_connection_reconnects_and_resubscribes(sim, app_for):
    async with app_for() as rt:
        await _lease(rt)
        sim.set_clock(speed=30, paused=False)
        await rt.clock.sync()
        await until(lambda: rt.pipeline.ticks_published >= 2)
        async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5) as http:
            (await http.post("/sim/faults", json={"feedCut": {}})).raise_for_status()
        await until(lambda: _names(rt).count("connected") == 2)
        assert "disconnected" in _names(rt)
        after = rt.pipeline.ticks_published
        await until(lambda: rt.pipeline.ticks_published >= after + 2)
        assert rt.marketdata.feed.halted is None


async def test_expired_token_halts_the_feed_once_without_retrying(sim, app_for, settings_for):
    async with app_for() as rt:
        await _lease(rt)
        await until(lambda: rt.marketdata.feed.connected == 1)
        async with httpx.AsyncClient(base_url=sim.rest_url) as http:
            (await http.post("/sim/faults", json={"expireToken": settings_for.client_id})
             ).raise_for_status()
        await until(lambda: rt.marketdata.feed.halted is not None)
        assert rt.marketdata.feed.halted.startswith("807")
        assert _names(rt).count("halted") == 1
        conn = rt.marketdata.feed.connections[0]
        await until(lambda: conn._task is None)  # the halt stops the socket's task
        assert conn.connects == 1, "no reconnect was attempted"
        status = await request(rt.nc, md.MARKET_STATUS, md.MarketStatusQuery(),
                               reply_model=md.MarketStatus)
        assert status.feed.state == "halted" and "807" in status.feed.halted_reason


async def test_watchdog_escalates_a_silently_stalled_feed_and_sees_recovery(sim, app_for):
    port = int(sim.feed_url.rsplit(":", 1)[1])
    proxy = StallProxy(port)
    proxy_port = await proxy.start()
    try:
        async with app_for(dhan_feed_url=f"ws://127.0.0.1:{proxy_port}", stale_after_s=60,
                           watchdog_step_s=30) as rt:
            await _lease(rt)
            sim.set_clock(speed=60, paused=False)
            await rt.clock.sync()
            await until(lambda: rt.pipeline.ticks_published >= 2)
            proxy.flowing.clear()
            await until(lambda: "stale" in _names(rt), timeout=20)
            steps = [n for n in _names(rt) if n in ("resubscribed", "fallback", "stale")]
            # A tick already in flight when the proxy froze may reset the first step.
            assert steps[-3:] == ["resubscribed", "fallback", "stale"]
            fallback = dict(rt.feed_events.sent)["fallback"]
            assert fallback["ltp"] and fallback["ltp"] > 100_000, "REST quote in paise"
            assert rt.marketdata.watchdog.stale_count == 1
            assert "disconnected" not in _names(rt), "the socket never closed: a silent stall"
            proxy.flowing.set()
            await until(lambda: "recovered" in _names(rt), timeout=20)
            assert rt.marketdata.watchdog.stale_count == 0
    finally:
        await proxy.stop()

"""Fixtures: real NATS and Postgres (svckit), fake neighbours, the execution app on a fixed clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import nats
import orjson
import pytest
from contracts import headers as hd
from contracts import subjects
from contracts.events.base import encode
from contracts.events.marketdata import Bar
from execution.app import build_app
from execution.settings import ExecutionSettings
from svckit.clock import FixedClock

from .fakes import Fakes

pytest_plugins = ["svckit.testing.plugin"]

DAY = datetime(2025, 7, 24, 3, 45, tzinfo=UTC)  # 09:15 IST


def make_settings(nats_url: str, dsn: str, instance: str = "replica-a", **kw) -> ExecutionSettings:
    """Return settings of one isolated, fast-heartbeating execution replica."""
    base = dict(nats_url=nats_url, database_url=dsn, instance_id=instance, heartbeat_s=0.2,
                lease_ttl_s=2.0, stale_bar_s=1e9, use_calendar=False, environment="test",
                log_level="WARNING")
    base.update(kw)
    return ExecutionSettings(**base)


@pytest.fixture
async def nc(nats_url):
    """A plain NATS client for the test (the gateway's seat)."""
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


@pytest.fixture
async def fakes(nc):
    """Backtest, brokerage and marketdata stand-ins."""
    f = Fakes(nc)
    await f.start()
    yield f
    await f.stop()


@pytest.fixture
def clock():
    """The business clock, at 09:15 IST of the replay day."""
    return FixedClock(DAY)


@pytest.fixture
def dsn(pg_service_dsn):
    """The execution role's DSN in a fresh database."""
    return pg_service_dsn("execution")


@pytest.fixture
def settings(nats_url, dsn):
    """Settings of one replica."""
    return make_settings(nats_url, dsn)


@pytest.fixture
async def app(fakes, settings, clock):
    """A running execution service."""
    async with build_app(settings, clock=clock) as rt:
        yield rt


async def call(nc, subject: str, body: dict, user: str | None, verified: bool = True):
    """Send a request as a user; return (status, body) with status 200 or the error code."""
    headers = {}
    if user:
        headers[hd.USER_ID] = user
        if verified:
            headers[hd.EMAIL_VERIFIED] = "true"
    msg = await nc.request(subject, orjson.dumps(body), timeout=10, headers=headers)
    data = orjson.loads(msg.data) if msg.data else None
    if msg.headers and hd.SERVICE_ERROR_CODE in msg.headers:
        return int(msg.headers[hd.SERVICE_ERROR_CODE]), data
    return 200, data


def make_bar(start: datetime, o: float, h: float, lo: float, c: float, v: int = 0,
             sid: str = "2885") -> Bar:
    """Return a closed 1-minute bar (prices in rupees in, paise out)."""
    from datetime import timedelta

    end = start + timedelta(minutes=1)

    def p(x: float) -> int:
        return int(round(x * 100))

    return Bar(event_id=f"bar-{sid}-{start.isoformat()}", ts_event=end, ts_init=end,
               interval="1m", segment="NSE_EQ", security_id=sid, start=start, end=end,
               open=p(o), high=p(h), low=p(lo), close=p(c), volume=v)


async def publish_bar(js, bar: Bar) -> None:
    """Publish a closed bar to MD_BARS like marketdata does."""
    await js.publish(subjects.bar(bar.interval, bar.segment, bar.security_id), encode(bar),
                     headers={hd.MSG_ID: bar.event_id})


async def until(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll an async or plain predicate until it is truthy; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)

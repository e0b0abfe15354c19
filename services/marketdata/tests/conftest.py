"""Fixtures: the Dhan simulator in-process and a marketdata service wired to it."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from dhansim.testing import run_simulator
from marketdata.app import build_app
from marketdata.settings import Settings


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


@pytest.fixture
async def sim():
    """A simulator at 2025-07-23 09:15 IST (a real RELIANCE day), paused, Dhan's rate limits on."""
    async with run_simulator(paused=True, feed_interval=0.02) as handle:
        yield handle


@pytest.fixture
def settings_for(sim, nats_url, pg_service_dsn, redis_url, redis_prefix):
    """Return a factory of service settings pointing at this test's servers and simulator."""
    dsn = pg_service_dsn("marketdata")
    client_id, token = sim.create_client(funds=0)

    def make(**overrides) -> Settings:
        base = {"environment": "test", "nats_url": nats_url, "database_url": dsn,
                "redis_url": redis_url, "redis_prefix": redis_prefix,
                "clock_url": sim.rest_url + "/sim/clock", "dhan_api_base": sim.api_base,
                "dhan_feed_url": sim.feed_url, "dhan_client_id": client_id,
                "dhan_access_token": token, "scrip_master_url": sim.scrip_master_url,
                "lease_sweep_s": 0.05, "watchdog_interval_s": 0.05, "quote_flush_s": 0.05,
                "log_level": "WARNING"}
        base.update(overrides)
        return Settings(**base)

    make.client_id = client_id
    return make


@pytest.fixture
def app_for(settings_for):
    """Return an async context manager factory running the service."""

    @contextlib.asynccontextmanager
    async def run(**overrides):
        async with build_app(settings_for(**overrides)) as rt:
            yield rt

    return run


@pytest.fixture(autouse=True)
async def _dump_tasks_if_stuck():
    """Debug aid (MD_DUMP=1): print every asyncio task's stack when a test runs long."""
    import os
    import sys

    if not os.environ.get("MD_DUMP"):
        yield
        return

    async def dump():
        await asyncio.sleep(45)
        for task in asyncio.all_tasks():
            print("TASK", task.get_name(), file=sys.stderr)
            task.print_stack(limit=15, file=sys.stderr)

    watcher = asyncio.create_task(dump())
    yield
    watcher.cancel()

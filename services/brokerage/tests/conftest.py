"""Fixtures: real NATS/Postgres/Redis (svckit), an in-process Dhan simulator, the app."""

from __future__ import annotations

import nats
import orjson
import pytest
from brokerage.app import build_app
from brokerage.settings import BrokerageSettings
from brokerage.testing import make_settings
from dhansim.testing import run_simulator


@pytest.fixture
async def sim():
    """A Dhan simulator frozen inside market hours, Dhan's rate limits off."""
    async with run_simulator(paused=True, rate_limits=False) as handle:
        yield handle


@pytest.fixture
def settings(sim, nats_url, pg_service_dsn, redis_url, redis_prefix) -> BrokerageSettings:
    """Settings of one isolated brokerage instance."""
    return make_settings(sim, nats_url, pg_service_dsn("brokerage"), redis_url, redis_prefix)


@pytest.fixture
async def app(settings):
    """A running brokerage service."""
    async with build_app(settings) as rt:
        yield rt


@pytest.fixture
async def nc(nats_url):
    """A plain NATS client for the test (the gateway's seat)."""
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


class Events:
    """Every user event seen on core NATS, decoded."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def of(self, suffix: str) -> list[dict]:
        """Return events whose subject ends with `suffix`."""
        return [d for s, d in self.items if s.endswith(suffix)]


@pytest.fixture
async def events(nc):
    """Collect `evt.>` from the start of the test."""
    seen = Events()

    async def on(msg):
        seen.items.append((msg.subject, orjson.loads(msg.data)))

    await nc.subscribe("evt.>", cb=on)
    await nc.flush()
    return seen

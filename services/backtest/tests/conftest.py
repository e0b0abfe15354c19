"""Fixtures: real NATS and Postgres (svckit), the backtest app in-process, a user-scoped client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nats
import orjson
import pytest
from backtest.app import build_app
from backtest.history import ParquetHistory
from backtest.testing import REPO_DATA, make_settings
from contracts import headers as h
from svckit.errors import RemoteError
from svckit.nats import request

pytest_plugins = ["svckit.testing.plugin"]


@pytest.fixture
def settings(nats_url, pg_service_dsn):
    """Settings of one isolated backtest instance."""
    return make_settings(nats_url, pg_service_dsn("backtest"))


@pytest.fixture
def history():
    """Real NSE bars from the repository's data folder."""
    return ParquetHistory(REPO_DATA)


@pytest.fixture
async def app(settings, history):
    """A running backtest service reading history from Parquet."""
    async with build_app(settings, history) as rt:
        yield rt


@pytest.fixture
async def nc(nats_url):
    """A plain NATS client (the gateway's seat)."""
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


class Client:
    """Calls the service as one user, like the gateway would."""

    def __init__(self, nc, user_id: str | None) -> None:
        self.nc = nc
        self.user_id = user_id

    async def call(self, subject: str, body: dict | None = None) -> Any:
        """Send a request and return the decoded reply (raise RemoteError on an error reply)."""
        hdrs = {h.USER_ID: self.user_id} if self.user_id else {}
        return await request(self.nc, subject, body or {}, headers=hdrs, timeout=15)

    async def error(self, subject: str, body: dict | None = None) -> Any:
        """Send a request that must fail; return the ApiError."""
        with pytest.raises(RemoteError) as info:
            await self.call(subject, body)
        return info.value.api_error


@pytest.fixture
def client(nc) -> Callable[[str | None], Client]:
    """Factory: user id -> client acting as that user."""
    return lambda user_id: Client(nc, user_id)


class Events:
    """Every user event seen on core NATS, decoded, in arrival order."""

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

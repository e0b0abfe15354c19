"""Test and benchmark helpers: settings for an isolated instance, a gated history source."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import nats.errors
import polars as pl

from .history import HistorySource, ParquetHistory
from .settings import BacktestSettings

REPO_DATA = Path(__file__).resolve().parents[4] / "data" / "ohlc"
"""The repository's real NSE bars (`data/ohlc/*.parquet`)."""


def make_settings(nats_url: str, dsn: str, **overrides: object) -> BacktestSettings:
    """Return settings of one isolated backtest instance (short ack wait: fast redelivery)."""
    values: dict[str, object] = {
        "environment": "test", "nats_url": nats_url, "database_url": dsn,
        "db_schema": "backtest", "job_ack_wait_s": 2.0, "job_heartbeat_s": 0.5,
        "log_json": True,
    }
    values.update(overrides)
    return BacktestSettings(**values)


class GatedHistory:
    """A history source that holds every fetch until `open` is set (to catch a job mid-run)."""

    def __init__(self, inner: HistorySource | None = None) -> None:
        self.inner = inner or ParquetHistory(REPO_DATA)
        self.open = asyncio.Event()
        self.waiting = 0

    async def bars(self, segment: str, security_id: str, symbol: str, interval: str,
                   start: datetime, end: datetime) -> pl.DataFrame:
        """Wait for the gate, then read from the inner source."""
        self.waiting += 1
        await self.open.wait()
        return await self.inner.bars(segment, security_id, symbol, interval, start, end)


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


RELIANCE = {"segment": "NSE_EQ", "securityId": "2885", "symbol": "RELIANCE"}
SMA_ENTRY = "sma(close, 10) crosses above sma(close, 30)"
SMA_EXIT = "sma(close, 10) crosses below sma(close, 30)"


def strategy_body(**overrides: Any) -> dict:
    """Return a valid create-strategy body on RELIANCE daily."""
    body = {"name": "SMA cross", "description": "10/30 crossover", "instrument": RELIANCE,
            "timeframe": "1d", "entryRule": SMA_ENTRY, "exitRule": SMA_EXIT,
            "stopLossPct": "2", "targetPct": "4", "positionSize": 10, "maxPositions": 1,
            "productType": "delivery", "direction": "long"}
    body.update(overrides)
    return body


async def discoverable(nc: Any, timeout: float = 20.0) -> None:
    """Wait until the service answers `$SRV.PING.backtest`, as a gateway would before calling."""
    async def answers() -> bool:
        try:
            await nc.request("$SRV.PING.backtest", b"", timeout=1)
        except nats.errors.Error:
            return False
        return True

    await eventually(answers, timeout, what="service discoverable")

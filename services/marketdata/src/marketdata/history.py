"""Historical candles: served from the store, backfilled from Dhan once per day and cached.

A past day fetched from Dhan is recorded in `history_fetched` and never fetched again; today
is refetched at most once a minute (its candles are still growing). Backfill pages under
Dhan's range limits (90 days intraday) and pacing (5 data calls/s) in `dhan.rest`.
Bulk exports go to the NATS Object Store as Parquet so a million bars never travel as one
message.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg
import polars as pl
from contracts.marketdata import HISTORY_BUCKET
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError

from . import repository as repo
from .calendar import IST, Calendar
from .dhan.rest import DhanRest

TODAY_REFRESH_S = 60.0


class History:
    """Read candles, filling gaps from Dhan first."""

    def __init__(self, pool: asyncpg.Pool, rest: DhanRest | None, calendar: Calendar,
                 now: Callable[[], datetime]) -> None:
        self._pool = pool
        self._rest = rest
        self._cal = calendar
        self._now = now
        self._locks: dict[tuple, asyncio.Lock] = {}
        self._today_fetched: dict[tuple, float] = {}

    async def candles(self, seg: str, sid: str, kind: str, interval: str, start: datetime,
                      end: datetime, limit: int, backfill: bool = True) -> list[asyncpg.Record]:
        """Return candles with start in [start, end), backfilling missing days first."""
        if backfill:
            await self.backfill(seg, sid, kind, interval, start, end)
        async with self._pool.acquire() as conn:
            return await repo.candles(conn, seg, sid, interval, start, end, limit)

    async def backfill(self, seg: str, sid: str, kind: str, interval: str, start: datetime,
                       end: datetime) -> int:
        """Fetch the days of [start, end) not yet fetched; return how many candles came."""
        if self._rest is None:
            return 0
        today = self._now().astimezone(IST).date()
        first = start.astimezone(IST).date()
        last = min((end - timedelta(microseconds=1)).astimezone(IST).date(), today)
        lock = self._locks.setdefault((seg, sid, interval), asyncio.Lock())
        async with lock:
            async with self._pool.acquire() as conn:
                done = await repo.fetched_days(conn, seg, sid, interval, first, last)
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            wanted = [d for d in days if d not in done and self._maybe_trading(seg, d)]
            key = (seg, sid, interval)
            if today in wanted and time.monotonic() - self._today_fetched.get(key, -1e9) < TODAY_REFRESH_S:
                wanted.remove(today)
            if not wanted:
                return 0
            rows = await self._fetch(seg, sid, kind, interval, wanted[0], wanted[-1])
            async with self._pool.acquire() as conn:
                await repo.store_candles(conn, rows)
                await repo.mark_fetched(conn, seg, sid, interval, [d for d in wanted if d < today])
            if today in wanted:
                self._today_fetched[key] = time.monotonic()
            return len(rows)

    def _maybe_trading(self, seg: str, day: date) -> bool:
        # Weekends are skipped; holidays cost nothing extra inside a paged range.
        return day.weekday() < 5 or bool(self._cal.windows(seg, day))

    async def _fetch(self, seg: str, sid: str, kind: str, interval: str, lo: date,
                     hi: date) -> list[tuple]:
        assert self._rest is not None
        if interval == "1d":
            got = await self._rest.daily(seg, sid, kind, lo, hi)
        else:
            got = await self._rest.intraday(seg, sid, kind, interval, lo, hi)
        return [(seg, sid, interval, datetime.fromtimestamp(t, UTC), o, h, low, c, v, oi, "dhan")
                for t, o, h, low, c, v, oi in got]


async def ensure_bucket(js: JetStreamContext, ttl_s: float) -> None:
    """Create the bulk-history object store bucket if it is missing."""
    try:
        await js.object_store(HISTORY_BUCKET)
    except BucketNotFoundError:
        await js.create_object_store(HISTORY_BUCKET, config=ObjectStoreConfig(
            description="Bulk history exports (Parquet) for backtests", ttl=ttl_s))


async def export_parquet(js: JetStreamContext, frames: list[pl.DataFrame]) -> tuple[str, int, int]:
    """Write candle frames as one Parquet object; return (object name, rows, bytes)."""
    df = pl.concat(frames) if frames else pl.DataFrame(schema=PARQUET_SCHEMA)
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd")
    data = buf.getvalue()
    name = f"history/{uuid.uuid4()}.parquet"
    store = await js.object_store(HISTORY_BUCKET)
    await store.put(name, data)
    return name, df.height, len(data)


PARQUET_SCHEMA = {"segment": pl.Utf8, "securityId": pl.Utf8,
                  "ts": pl.Datetime("us", "UTC"), "open": pl.Int64, "high": pl.Int64,
                  "low": pl.Int64, "close": pl.Int64, "volume": pl.Int64, "oi": pl.Int64}


def frame(seg: str, sid: str, rows: list[asyncpg.Record]) -> pl.DataFrame:
    """Turn stored candles of one instrument into a Parquet-ready frame."""
    cols = {k: [r[k] for r in rows] for k in ("ts", "open", "high", "low", "close", "volume", "oi")}
    return pl.DataFrame({"segment": [seg] * len(rows), "securityId": [sid] * len(rows), **cols},
                        schema=PARQUET_SCHEMA)

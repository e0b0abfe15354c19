"""The live path: feed ticks -> `md.tick.*`, quote cache, watchdog, bars -> store + outbox.

Ticks go out as core NATS publishes on subjects the MD_TICKS stream captures: one awaited
JetStream ack per tick would cap throughput far below the feed's rate, and a tick lost in a
crash is superseded by the next one anyway. Bars are different: each is stored and put in
published right after the insert commits, all bars of a batch concurrently, with
`Nats-Msg-Id` = bar id; the row is then marked published. A bar whose publish was not
confirmed (crash, NATS down) stays unmarked and `republish_pending` sends it again under
the same id, so the stream stores it once. Corrections are rare and go through the outbox.
A background writer batches bars so the feed reader never waits on Postgres.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
import msgspec
from contracts import subjects
from contracts.events import marketdata as ev
from contracts.events.base import new_event_fields
from contracts.headers import MSG_ID
from nats.aio.client import Client
from svckit import outbox
from svckit.logging import get_logger

from . import repository as repo
from .bars import ROLLUPS, BarAggregator, Bounds, Out
from .calendar import IST
from .quotes import QuoteCache
from .watchdog import Watchdog

log = get_logger(__name__)
_enc = msgspec.json.Encoder()
FEED_EVENTS = {name: cls for cls, name in ev.FEED_EVENT_NAMES.items()}
WIDTH = {"1m": 60, **ROLLUPS}


def bar_from_row(row: asyncpg.Record, bounds: Bounds, now: datetime) -> ev.Bar:
    """Rebuild the event of a stored feed bar (same deterministic id as when it closed)."""
    start = row["ts"]
    session = bounds(row["segment"], start.astimezone(IST).date())
    close = session[1] if session else start + timedelta(days=1)
    end = close if row["interval"] == "1d" else min(
        start + timedelta(seconds=WIDTH[row["interval"]]), close)
    return ev.Bar(event_id=f"bar-{row['interval']}-{row['segment']}-{row['security_id']}-"
                           f"{int(start.timestamp())}", ts_event=end, ts_init=now,
                  interval=row["interval"], segment=row["segment"],
                  security_id=row["security_id"], start=start, end=end, open=row["open"],
                  high=row["high"], low=row["low"], close=row["close"], volume=row["volume"],
                  oi=row["oi"])


def bar_row(bar: ev.Bar, source: str = "feed") -> tuple:
    """Return the candles-table row of a bar."""
    return (bar.segment, bar.security_id, bar.interval, bar.start, bar.open, bar.high, bar.low,
            bar.close, bar.volume, bar.oi, source)


class LivePipeline:
    """Glue between the feed client and everything downstream of a tick."""

    def __init__(self, nc: Client, pool: asyncpg.Pool, aggregator: BarAggregator,
                 quotes: QuoteCache, now: Callable[[], datetime], bounds: Bounds) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._bounds = bounds
        self._pool = pool
        self._agg = aggregator
        self._quotes = quotes
        self._now = now
        self.watchdog: Watchdog | None = None
        self._subjects: dict[tuple[str, str], str] = {}
        self._bars: asyncio.Queue[Out] = asyncio.Queue()
        self.ticks_published = 0
        self.bars_published = 0

    async def on_ticks(self, ticks: list[ev.Tick]) -> None:
        """Publish, cache and aggregate one frame's ticks (the feed reader awaits this)."""
        now = self._now()
        for tick in ticks:
            key = (tick.segment, tick.security_id)
            subject = self._subjects.get(key)
            if subject is None:
                subject = self._subjects[key] = subjects.tick(*key)
            await self._nc.publish(subject, _enc.encode(tick))
            self._quotes.update(tick)
            if self.watchdog is not None:
                self.watchdog.seen(key, now)
            for out in self._agg.on_tick(tick, now):
                self._bars.put_nowait(out)
        self.ticks_published += len(ticks)

    async def run_clock(self, every_s: float = 0.2) -> None:
        """Close bars by the clock (boundary + grace) forever."""
        while True:
            await asyncio.sleep(every_s)  # sweep period of the bar clock
            for out in self._agg.on_time(self._now()):
                self._bars.put_nowait(out)

    async def run_writer(self, batch: int = 500) -> None:
        """Store bars and enqueue their events, many per transaction, forever."""
        while True:
            items = [await self._bars.get()]
            while len(items) < batch and not self._bars.empty():
                items.append(self._bars.get_nowait())
            try:
                await self.write(items)
            except (OSError, asyncpg.PostgresError) as exc:
                log.error("bars.write_failed", error=str(exc), bars=len(items))
                for item in items:
                    self._bars.put_nowait(item)
                await asyncio.sleep(1.0)  # back off before retrying the same batch

    async def write(self, items: list[Out]) -> None:
        """Store bars (and corrections with their outbox rows), then publish the new bars."""
        fresh: list[ev.Bar] = []
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                bars = {bar_row(i)[:4]: i for i in items if isinstance(i, ev.Bar)}
                if bars:
                    new = await repo.insert_bars(conn, [bar_row(b) for b in bars.values()])
                    fresh = [b for key, b in bars.items() if key in new]
                for item in items:
                    if isinstance(item, ev.BarCorrected):
                        bar = item.bar
                        await repo.correct_bar(conn, bar_row(bar))
                        await outbox.enqueue(conn, subjects.bar_correction(
                            bar.interval, bar.segment, bar.security_id), item,
                            msg_id=item.event_id)
            if fresh:
                await self._publish(conn, fresh)

    async def _publish(self, conn: asyncpg.Connection, bars: list[ev.Bar]) -> None:
        results = await asyncio.gather(*(
            self._js.publish(subjects.bar(b.interval, b.segment, b.security_id), _enc.encode(b),
                             headers={MSG_ID: b.event_id}) for b in bars), return_exceptions=True)
        done = [b for b, r in zip(bars, results) if not isinstance(r, BaseException)]
        if len(done) < len(bars):
            log.warning("bars.publish_failed", failed=len(bars) - len(done))
        if done:
            await repo.mark_published(conn, [bar_row(b)[:4] for b in done])
        self.bars_published += len(done)

    async def republish_pending(self, older_than_s: float = 5.0) -> int:
        """Publish stored feed bars whose publish was never confirmed; return how many."""
        # Row locks held while publishing make concurrent sweeps (other instances) skip them.
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await repo.unpublished(conn, older_than_s)
            bars = [bar_from_row(r, self._bounds, self._now()) for r in rows]
            if bars:
                await self._publish(conn, bars)
        return len(bars)

    async def run_recovery(self, every_s: float = 30.0) -> None:
        """Republish unconfirmed bars at start and then periodically."""
        while True:
            try:
                await self.republish_pending()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("bars.recovery_failed", error=str(exc))
            await asyncio.sleep(every_s)  # recovery period

    async def flush_bars(self) -> None:
        """Close every open bar and write it (graceful shutdown)."""
        items = self._agg.flush(self._now())
        while not self._bars.empty():
            items.append(self._bars.get_nowait())
        if items:
            await self.write(items)


class FeedEvents:
    """Publish feed-health events on `md.feed.<name>` (JetStream MD_STATUS)."""

    def __init__(self, js, now: Callable[[], datetime]) -> None:
        self._js = js
        self._now = now
        self.sent: list[tuple[str, dict]] = []

    async def emit(self, name: str, fields: dict) -> None:
        """Build and publish one event; log it too."""
        cls = FEED_EVENTS[name]
        now = self._now()
        event = cls(**new_event_fields(now, now), **fields)
        self.sent.append((name, fields))
        log.info("feed.event", kind=name, **{k: str(v) for k, v in fields.items()})
        try:
            await self._js.publish(subjects.feed_status(name), _enc.encode(event),
                                   headers={"Nats-Msg-Id": event.event_id})
        except Exception as exc:  # noqa: BLE001 - health events must never break the feed
            log.warning("feed.event_publish_failed", kind=name, error=str(exc))

"""The live path: feed ticks -> `md.tick.*`, quote cache, watchdog, bars -> store + outbox.

Ticks go out as core NATS publishes on subjects the MD_TICKS stream captures: one awaited
JetStream ack per tick would cap throughput far below the feed's rate, and a tick lost in a
crash is superseded by the next one anyway. Bars are different: each is stored and put in
the outbox in one transaction (`Nats-Msg-Id` = bar id), so it is published exactly once
even across restarts. A background writer batches bars so the feed reader never waits on
Postgres.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg
import msgspec
from nats.aio.client import Client

from contracts import subjects
from contracts.events import marketdata as ev
from contracts.events.base import new_event_fields
from svckit import outbox
from svckit.logging import get_logger

from . import repository as repo
from .bars import BarAggregator, Out
from .quotes import QuoteCache
from .watchdog import Watchdog

log = get_logger(__name__)
_enc = msgspec.json.Encoder()
FEED_EVENTS = {name: cls for cls, name in ev.FEED_EVENT_NAMES.items()}


def bar_row(bar: ev.Bar, source: str = "feed") -> tuple:
    """Return the candles-table row of a bar."""
    return (bar.segment, bar.security_id, bar.interval, bar.start, bar.open, bar.high, bar.low,
            bar.close, bar.volume, bar.oi, source)


class LivePipeline:
    """Glue between the feed client and everything downstream of a tick."""

    def __init__(self, nc: Client, pool: asyncpg.Pool, aggregator: BarAggregator,
                 quotes: QuoteCache, now: Callable[[], datetime]) -> None:
        self._nc = nc
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
        """Persist bars/corrections and their outbox rows in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            for item in items:
                if isinstance(item, ev.Bar):
                    if await repo.insert_bar(conn, bar_row(item)):
                        await outbox.enqueue(conn, subjects.bar(item.interval, item.segment,
                                                                item.security_id),
                                             item, msg_id=item.event_id)
                        self.bars_published += 1
                else:
                    bar = item.bar
                    await repo.correct_bar(conn, bar_row(bar))
                    await outbox.enqueue(conn, subjects.bar_correction(
                        bar.interval, bar.segment, bar.security_id), item, msg_id=item.event_id)

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

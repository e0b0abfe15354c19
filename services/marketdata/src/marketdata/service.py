"""Use cases behind the request subjects: instruments, quotes, history, calendar, leases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
from contracts import marketdata as md
from contracts.errors import ErrorCode
from contracts.events.marketdata import Tick
from nats.js import JetStreamContext
from svckit.errors import NotFound, Rejected, Unavailable

from . import repository as repo
from .calendar import IST, Calendar
from .dhan.manager import FeedManager
from .history import History, export_parquet, frame
from .leases import Leases
from .quotes import QuoteCache
from .watchdog import Watchdog

STATUS_SEGMENTS = ("NSE_EQ", "NSE_FNO", "BSE_EQ", "NSE_CURRENCY", "MCX_COMM")


def rupees(paise: int | None) -> Decimal | None:
    """Convert integer paise to Decimal rupees (None stays None)."""
    return None if paise is None else (Decimal(paise) / 100).quantize(Decimal("0.01"))


def instrument(row: asyncpg.Record) -> md.Instrument:
    """Map an instruments row to its reply model."""
    return md.Instrument(**{k: row[k] for k in md.Instrument.model_fields})


class MarketData:
    """Everything the handlers call; built once by `app.build_app`."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, calendar: Calendar,
                 quotes: QuoteCache, history: History, leases: Leases,
                 now: Callable[[], datetime], trgm: str | None) -> None:
        self.pool = pool
        self.js = js
        self.calendar = calendar
        self.quotes = quotes
        self.history = history
        self.leases = leases
        self.now = now
        self.trgm = trgm
        self.feed: FeedManager | None = None
        self.watchdog: Watchdog | None = None

    # --- instruments -------------------------------------------------------------------

    async def search(self, q: md.SearchInstruments) -> md.InstrumentPage:
        """Search instruments, best matches first."""
        async with self.pool.acquire() as conn:
            rows, total = await repo.search(conn, q.q, q.segment, q.type, q.page_size,
                                            (q.page - 1) * q.page_size, self.trgm)
        return md.InstrumentPage(items=[instrument(r) for r in rows], total=total, page=q.page,
                                 page_size=q.page_size)

    async def resolve(self, symbol: str | None, segment: str | None,
                      security_id: str | None) -> asyncpg.Record:
        """Find an instrument by symbol or by (segment, securityId), or raise NotFound."""
        async with self.pool.acquire() as conn:
            if symbol is not None:
                row = await repo.by_symbol(conn, symbol, segment)
            else:
                row = await repo.by_id(conn, segment or "", security_id or "")
        if row is None:
            raise NotFound("Instrument not found")
        return row

    # --- quotes --------------------------------------------------------------------------

    async def quote(self, q: md.GetQuote) -> md.Quote:
        """Return the cached quote, else Dhan's REST quote."""
        row = await self.resolve(q.symbol, q.segment, q.security_id)
        key = (row["segment"], row["security_id"])
        tick, source = await self.quotes.get(key)
        if tick is None:
            raise Unavailable("No quote available for this instrument right now")
        return quote_from_tick(tick, row["symbol"], source, self.now())

    # --- history -------------------------------------------------------------------------

    async def candles(self, q: md.GetHistory) -> md.History:
        """Return stored (and backfilled) candles of one instrument."""
        if q.to <= q.from_:
            raise Rejected("`to` must be after `from`")
        row = await self.resolve(q.symbol, q.segment, q.security_id)
        rows = await self.history.candles(row["segment"], row["security_id"], row["instrument"],
                                          q.interval, q.from_, q.to, md.MAX_HISTORY_ROWS + 1)
        if len(rows) > md.MAX_HISTORY_ROWS:
            raise Rejected(f"More than {md.MAX_HISTORY_ROWS} candles; narrow the range or use "
                           f"bulk history", code=ErrorCode.PAYLOAD_TOO_LARGE)
        return md.History(segment=row["segment"], security_id=row["security_id"],
                          symbol=row["symbol"], interval=q.interval, candles=[
                              md.Candle(ts=r["ts"], open=rupees(r["open"]), high=rupees(r["high"]),
                                        low=rupees(r["low"]), close=rupees(r["close"]),
                                        volume=r["volume"], oi=r["oi"]) for r in rows])

    async def bulk(self, q: md.BulkHistory) -> md.BulkHistoryReady:
        """Export candles of many instruments as Parquet into the object store."""
        frames = []
        for ref in q.instruments:
            row = await self.resolve(None, ref.segment, ref.security_id)
            rows = await self.history.candles(ref.segment, ref.security_id, row["instrument"],
                                              q.interval, q.from_, q.to, 10_000_000, q.backfill)
            frames.append(frame(ref.segment, ref.security_id, rows))
        name, count, size = await export_parquet(self.js, frames)
        return md.BulkHistoryReady(bucket=md.HISTORY_BUCKET, object_name=name, rows=count,
                                   size_bytes=size)

    # --- calendar ------------------------------------------------------------------------

    def session(self, segment: str, at: datetime | None) -> md.MarketSession:
        """Answer: open at `at`? current window, next open and close."""
        at = (at or self.now()).astimezone(UTC)
        window = self.calendar.window_at(segment, at)
        day = at.astimezone(IST).date()
        return md.MarketSession(
            segment=segment, at=at, open=window is not None,
            session=window.kind if window else None,
            holiday=self.calendar.holiday(segment, day),
            session_open=window.open if window else None,
            session_close=window.close if window else None,
            next_open=self.calendar.next_open(segment, at),
            next_close=self.calendar.next_close(segment, at),
            source=window.source if window else "")

    def square_off(self, q: md.SquareOffQuery) -> md.SquareOff:
        """Return broker and platform square-off times of a product on a day."""
        day = q.day or self.now().astimezone(IST).date()
        broker, platform, source = self.calendar.square_off(q.segment, q.product, day)
        return md.SquareOff(segment=q.segment, product=q.product, day=day,
                            broker_square_off=broker, platform_square_off=platform, source=source)

    def status(self, at: datetime | None) -> md.MarketStatus:
        """Return sessions of the main segments and the feed's health."""
        at = (at or self.now()).astimezone(UTC)
        feed = self.feed
        health = md.FeedHealth(
            state="disabled" if feed is None else ("halted" if feed.halted else "running"),
            connections=feed.connected if feed else 0,
            instruments=len(feed.assigned) if feed else 0,
            stale=self.watchdog.stale_count if self.watchdog else 0,
            halted_reason=feed.halted if feed else None)
        return md.MarketStatus(at=at, segments=[self.session(s, at) for s in STATUS_SEGMENTS],
                               feed=health)

    # --- leases --------------------------------------------------------------------------

    async def lease(self, q: md.LeaseInstruments) -> md.LeaseGranted:
        """Take or renew an owner's leases."""
        keys = [(i.segment, i.security_id) for i in q.instruments]
        expires = await self.leases.acquire(q.owner, keys, q.ttl_s)
        return md.LeaseGranted(owner=q.owner, instruments=len(keys),
                               expires_at=datetime.fromtimestamp(expires, UTC))

    async def release(self, q: md.ReleaseInstruments) -> md.Released:
        """Drop an owner's leases."""
        keys = None if q.instruments is None else [(i.segment, i.security_id) for i in q.instruments]
        return md.Released(released=await self.leases.release(q.owner, keys))


def quote_from_tick(tick: Tick, symbol: str | None, source: str, now: datetime) -> md.Quote:
    """Build the quote reply from a tick (paise to rupees)."""
    return md.Quote(
        segment=tick.segment, security_id=tick.security_id, symbol=symbol, ltp=rupees(tick.ltp),
        ltq=tick.ltq, ltt=tick.ltt, volume=tick.volume, atp=rupees(tick.atp),
        open=rupees(tick.day_open), high=rupees(tick.day_high), low=rupees(tick.day_low),
        prev_close=rupees(tick.prev_close),
        change=rupees(tick.ltp - tick.prev_close) if tick.prev_close else None,
        bid=rupees(tick.bid), ask=rupees(tick.ask), oi=tick.oi, source=source, as_of=now)

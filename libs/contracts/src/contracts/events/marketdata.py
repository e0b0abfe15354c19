"""Market-data events: ticks (`md.tick.*`), bars (`md.bar.*`), corrections, feed health.

Prices are **integer paise** (1/100 rupee; for indices 1/100 index point). The Dhan feed sends
float32 rupees; the feed client rounds them to paise once (API.md §8.5), so no reader ever
compares binary floats. Currency derivatives quote in 1/4 paise and are out of scope here.

All instants are UTC. `Tick.ltt` is the true trade time (Dhan's IST-shifted LTT minus 5h30).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from .base import Event

INTERVALS = ("1m", "5m", "15m", "1h", "1d")
"""Bar intervals published on `md.bar.<interval>.*` (5m+ are rolled up from 1m)."""


class Tick(Event, kw_only=True):
    """One feed update of one instrument (`md.tick.<segment>.<securityId>`).

    `ts_event` = `ltt`; `ts_init` = when the feed client decoded it. `volume` is the day's
    cumulative traded quantity (bars take deltas of it). Optional fields are absent when the
    subscription mode does not carry them (ticker mode has no volume or depth).
    """

    segment: str
    security_id: str
    ltp: int
    ltt: datetime
    ltq: int = 0
    volume: int | None = None
    atp: int | None = None
    oi: int | None = None
    bid: int | None = None
    ask: int | None = None
    bid_qty: int | None = None
    ask_qty: int | None = None
    day_open: int | None = None
    day_high: int | None = None
    day_low: int | None = None
    prev_close: int | None = None


class Bar(Event, kw_only=True):
    """One OHLCV bar (`md.bar.<interval>.<segment>.<securityId>`), published once when closed.

    `start` is the bar's open instant and `end` its exclusive end (both UTC; minute buckets
    are IST minutes aligned to the session). `ts_event` = `end`.
    """

    interval: str
    segment: str
    security_id: str
    start: datetime
    end: datetime
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    oi: int | None = None
    ticks: int = 0
    closed: bool = True


class BarCorrected(Event, kw_only=True):
    """A bar already published changed (a late tick); `bar` replaces `previous`.

    Published on `md.barfix.<interval>.<segment>.<securityId>`; the stored candle is updated
    in the same transaction. Consumers that acted on `previous` decide what to do.
    """

    bar: Bar
    previous: Bar
    reason: str = "late_tick"


class FeedConnectionEvent(Event, kw_only=True):
    """Something happened to one feed websocket (`md.feed.<name>`)."""

    connection: int
    instruments: int = 0
    code: int | None = None
    reason: str = ""


class FeedConnected(FeedConnectionEvent, kw_only=True):
    """A feed connection is up and its instruments are (re)subscribed."""


class FeedDisconnected(FeedConnectionEvent, kw_only=True):
    """A feed connection dropped; it reconnects after `retry_in_s`."""

    retry_in_s: float = 0.0


class FeedHalted(FeedConnectionEvent, kw_only=True):
    """The feed stopped for good (expired token, too many connections): an alert for ops."""


class InstrumentFeedEvent(Event, kw_only=True):
    """A staleness-watchdog step for one instrument (`md.feed.<name>`)."""

    segment: str
    security_id: str
    last_tick_at: datetime | None = None
    silent_s: float = 0.0


class FeedResubscribed(InstrumentFeedEvent, kw_only=True):
    """Step 1: the instrument went quiet in market hours; it was resubscribed."""


class FeedQuoteFallback(InstrumentFeedEvent, kw_only=True):
    """Step 2: still quiet; its quote now comes from Dhan's REST quote API."""

    ltp: int | None = None


class FeedStale(InstrumentFeedEvent, kw_only=True):
    """Step 3: still no feed tick; consumers must not trust live prices of it."""


class FeedRecovered(InstrumentFeedEvent, kw_only=True):
    """Feed ticks for a stale or fallen-back instrument arrive again."""


FEED_EVENT_NAMES: dict[type[msgspec.Struct], str] = {
    FeedConnected: "connected",
    FeedDisconnected: "disconnected",
    FeedHalted: "halted",
    FeedResubscribed: "resubscribed",
    FeedQuoteFallback: "fallback",
    FeedStale: "stale",
    FeedRecovered: "recovered",
}
"""Subject token (`md.feed.<name>`) of each feed-health event."""

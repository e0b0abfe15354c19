"""Market data over request/reply: instruments, quotes, history, calendar, feed leases.

Prices in these models are `Price` (Decimal rupees, JSON strings); the streams carry integer
paise (`contracts.events.marketdata`). `HTTP_ROUTES` lists the gateway's `/api/market/*`
rows, so the gateway maps paths to subjects from data instead of hand-copying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, model_validator

from . import subjects
from .api import ApiModel, ApiReply, Page, PageQuery
from .types import Id, Price, UtcDateTime

SERVICE = "marketdata"

SEARCH_INSTRUMENTS = subjects.svc(SERVICE, "instrument", "search")
INSTRUMENT_BY_SYMBOL = subjects.svc(SERVICE, "instrument", "by_symbol")
INSTRUMENT_BY_ID = subjects.svc(SERVICE, "instrument", "get")
GET_QUOTE = subjects.svc(SERVICE, "quote", "get")
GET_HISTORY = subjects.svc(SERVICE, "history", "get")
BULK_HISTORY = subjects.svc(SERVICE, "history", "bulk")
MARKET_OPEN = subjects.svc(SERVICE, "calendar", "is_open")
SQUARE_OFF = subjects.svc(SERVICE, "calendar", "square_off")
MARKET_STATUS = subjects.svc(SERVICE, "market", "status")
LEASE = subjects.svc(SERVICE, "lease", "acquire")
RELEASE = subjects.svc(SERVICE, "lease", "release")

HISTORY_BUCKET = "md-history"
"""NATS Object Store bucket holding bulk-history Parquet files (objects expire after a day)."""

Segment = Literal["IDX_I", "NSE_EQ", "NSE_FNO", "NSE_CURRENCY", "BSE_EQ", "MCX_COMM",
                  "BSE_CURRENCY", "BSE_FNO"]
Interval = Literal["1m", "5m", "15m", "1h", "1d"]
Product = Literal["INTRADAY", "CNC", "MARGIN", "MTF", "CO", "BO"]

_SECURITY_ID = r"^[0-9A-Za-z_\-]{1,20}$"

PriceChange = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A signed price difference in rupees (a decimal string on the wire)."""


class InstrumentRef(ApiModel):
    """An instrument by its Dhan identity."""

    segment: Segment
    security_id: str = Field(pattern=_SECURITY_ID)


class Instrument(ApiReply):
    """One row of Dhan's instrument master."""

    segment: str
    security_id: str
    exchange: str
    symbol: str
    display_name: str = ""
    name: str = ""
    instrument: str
    instrument_type: str = ""
    series: str = ""
    lot_size: int = 1
    tick_size: Price
    expiry: datetime | None = None
    strike: Price | None = None
    option_type: str | None = None
    expiry_flag: str | None = None
    isin: str | None = None
    underlying_security_id: str | None = None
    underlying_symbol: str | None = None


class SearchInstruments(PageQuery):
    """Search by symbol and name: exact symbol first, then prefix, then fuzzy."""

    q: str = Field(min_length=1, max_length=64)
    segment: Segment | None = None
    type: str | None = Field(default=None, max_length=16, description="EQUITY, INDEX, OPTIDX, ...")


InstrumentPage = Page[Instrument]


class InstrumentBySymbol(ApiModel):
    """Find an instrument by trading symbol; without a segment NSE_EQ, then IDX_I, then BSE_EQ win."""

    symbol: str = Field(min_length=1, max_length=64)
    segment: Segment | None = None


class _ByInstrument(ApiModel):
    """Either a symbol or a (segment, securityId) pair."""

    symbol: str | None = Field(default=None, min_length=1, max_length=64)
    segment: Segment | None = None
    security_id: str | None = Field(default=None, pattern=_SECURITY_ID)

    @model_validator(mode="after")
    def _one_identity(self) -> _ByInstrument:
        if self.symbol is None and (self.segment is None or self.security_id is None):
            raise ValueError("give a symbol, or a segment and a securityId")
        return self


class GetQuote(_ByInstrument):
    """Ask for the latest quote of one instrument."""


class Quote(ApiReply):
    """The latest known state of one instrument."""

    segment: str
    security_id: str
    symbol: str | None = None
    ltp: Price
    ltq: int = 0
    ltt: UtcDateTime | None = None
    volume: int | None = None
    atp: Price | None = None
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    prev_close: Price | None = None
    change: PriceChange | None = Field(default=None, description="ltp - prevClose")
    bid: Price | None = None
    ask: Price | None = None
    oi: int | None = None
    source: Literal["feed", "dhan"] = "feed"
    as_of: UtcDateTime


class GetHistory(_ByInstrument):
    """Candles of one instrument in [from, to) (UTC instants; at most `MAX_HISTORY_ROWS`)."""

    interval: Interval = "1m"
    from_: UtcDateTime = Field(alias="from")
    to: UtcDateTime


MAX_HISTORY_ROWS = 20_000
"""More rows than this go through `BULK_HISTORY` instead of one reply."""


class Candle(ApiReply):
    """One stored bar (start = open instant, UTC)."""

    ts: UtcDateTime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: int
    oi: int | None = None


class History(ApiReply):
    """Candles of one instrument, oldest first."""

    segment: str
    security_id: str
    symbol: str | None = None
    interval: str
    candles: list[Candle]


class BulkHistory(ApiModel):
    """Export candles of many instruments as one Parquet object in `HISTORY_BUCKET`."""

    instruments: list[InstrumentRef] = Field(min_length=1, max_length=500)
    interval: Interval = "1m"
    from_: UtcDateTime = Field(alias="from")
    to: UtcDateTime
    backfill: bool = Field(default=True, description="fetch missing days from Dhan first")


class BulkHistoryReady(ApiReply):
    """Where the export is: read it with `js.object_store(bucket).get(objectName)`.

    Parquet columns: segment, securityId (str), ts (timestamp[us, UTC], bar open),
    open/high/low/close (int64 paise), volume (int64), oi (int64, nullable).
    """

    bucket: str
    object_name: str
    rows: int
    size_bytes: int


class MarketOpenQuery(ApiModel):
    """Is the segment's normal session running at `at` (default: now), and when next?"""

    segment: Segment = "NSE_EQ"
    at: UtcDateTime | None = None


class MarketSession(ApiReply):
    """The calendar's answer for one segment at one instant."""

    segment: str
    at: UtcDateTime
    open: bool
    session: str | None = Field(default=None, description="normal | muhurat | special")
    holiday: str | None = None
    session_open: UtcDateTime | None = None
    session_close: UtcDateTime | None = None
    next_open: UtcDateTime | None = None
    next_close: UtcDateTime | None = None
    source: str = ""


class SquareOffQuery(ApiModel):
    """When are intraday positions of a product squared off on a date (default: today)?"""

    segment: Segment = "NSE_EQ"
    product: Product = "INTRADAY"
    day: date | None = None


class SquareOff(ApiReply):
    """Broker square-off and the platform's earlier one (None: the product is not squared off)."""

    segment: str
    product: str
    day: date
    broker_square_off: UtcDateTime | None = None
    platform_square_off: UtcDateTime | None = None
    source: str = ""


class FeedHealth(ApiReply):
    """The live feed as the service sees it."""

    state: Literal["running", "halted", "disabled"]
    connections: int
    instruments: int
    stale: int
    halted_reason: str | None = None


class MarketStatusQuery(ApiModel):
    """Ask for the market status at `at` (default: now)."""

    at: UtcDateTime | None = None


class MarketStatus(ApiReply):
    """`GET /api/market/status`: sessions of the main segments and the feed's health."""

    at: UtcDateTime
    segments: list[MarketSession]
    feed: FeedHealth


class LeaseInstruments(ApiModel):
    """Keep instruments on the live feed for `ttlS` seconds; repeat before expiry to renew."""

    owner: Id
    instruments: list[InstrumentRef] = Field(min_length=1, max_length=1000)
    ttl_s: int = Field(default=60, ge=5, le=3600)


class LeaseGranted(ApiReply):
    """The lease holds until `expiresAt` (business of the holder to renew)."""

    owner: str
    instruments: int
    expires_at: UtcDateTime


class ReleaseInstruments(ApiModel):
    """Drop an owner's leases (all of them when `instruments` is omitted)."""

    owner: Id
    instruments: list[InstrumentRef] | None = Field(default=None, max_length=1000)


class Released(ApiReply):
    """How many leases were dropped."""

    released: int


@dataclass(frozen=True)
class Route:
    """One gateway HTTP route served by a marketdata subject."""

    method: str
    path: str
    subject: str
    request: type[ApiModel]
    response: type[ApiReply]
    auth: str
    note: str = ""


HTTP_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/market/instruments", SEARCH_INSTRUMENTS, SearchInstruments,
          InstrumentPage, "user", "query q, segment, type, page, pageSize"),
    Route("GET", "/api/market/quote/{symbol}", GET_QUOTE, GetQuote, Quote, "user",
          "path symbol; optional query segment"),
    Route("GET", "/api/market/historical", GET_HISTORY, GetHistory, History, "user",
          "query symbol, interval, from, to (ISO-8601 with offset, e.g. 2025-07-23T09:15:00+05:30)"),
    Route("GET", "/api/market/status", MARKET_STATUS, MarketStatusQuery, MarketStatus, "public"),
)

"""Orders and trades: request/reply models, enums and request subjects (service `brokerage`).

Enum values are Dhan's wire spellings (API.md §4), so the same words travel from the SPA
through execution and brokerage to the broker. Prices are `Price` (Decimal, JSON string).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import Field, model_validator

from . import subjects
from .api import ApiModel, ApiReply, PageQuery
from .types import Id, Money, Price, UtcDateTime

SERVICE = "brokerage"

PLACE_ORDER = subjects.svc(SERVICE, "order", "place")
CANCEL_ORDER = subjects.svc(SERVICE, "order", "cancel")
MODIFY_ORDER = subjects.svc(SERVICE, "order", "modify")
GET_ORDER = subjects.svc(SERVICE, "order", "get")
LIST_ORDERS = subjects.svc(SERVICE, "order", "list")
LIST_TRADES = subjects.svc(SERVICE, "trade", "list")
GET_TRADE = subjects.svc(SERVICE, "trade", "get")

INTENT_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,25}$"
"""An intent id is also Dhan's `correlationId`: at most 25 characters (API.md §5.1, measured)."""


_B32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
_B32_PAIRS = [a + b for a in _B32 for b in _B32]  # ten bits -> two characters


def make_intent_id(*parts: object) -> str:
    """Return the deterministic 25-character intent id of (deployment, bar time, leg, ...).

    "i" and the first 15 bytes of the SHA-256 of the parts in lower-case base32 (24
    characters: base32 turns each 5 bytes into 8 characters on their own). Spelled out ten
    bits at a time: `base64.b32encode` is pure Python here and cost a firing entry 10 us."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    n = int.from_bytes(digest[:15], "big")
    pairs = _B32_PAIRS
    return "i" + "".join([pairs[(n >> shift) & 1023] for shift in range(110, -1, -10)])


class ExchangeSegment(StrEnum):
    """Dhan exchange segments that take orders."""

    NSE_EQ = "NSE_EQ"
    NSE_FNO = "NSE_FNO"
    NSE_CURRENCY = "NSE_CURRENCY"
    BSE_EQ = "BSE_EQ"
    BSE_FNO = "BSE_FNO"
    BSE_CURRENCY = "BSE_CURRENCY"
    MCX_COMM = "MCX_COMM"


class TransactionType(StrEnum):
    """Buy or sell."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """How the order is priced."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_MARKET = "STOP_LOSS_MARKET"


class ProductType(StrEnum):
    """Delivery, intraday or carry-forward margin."""

    CNC = "CNC"
    INTRADAY = "INTRADAY"
    MARGIN = "MARGIN"
    MTF = "MTF"


class Validity(StrEnum):
    """How long an order may rest."""

    DAY = "DAY"
    IOC = "IOC"


class OrderStatus(StrEnum):
    """The platform's order states (ARCHITECTURE.md §4; mapped from the broker's)."""

    RECEIVED = "received"  # intent stored, not yet sent
    SENDING = "sending"  # sent or about to be; outcome unknown until confirmed
    PLACED = "placed"  # the broker acknowledged it (Dhan TRANSIT)
    ACCEPTED = "accepted"  # resting at the exchange (Dhan PENDING)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"  # never reached the broker
    STALE = "stale"  # refused because the intent was too old


TERMINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED,
                               OrderStatus.EXPIRED, OrderStatus.FAILED, OrderStatus.STALE})


class PlaceOrder(ApiModel):
    """Place a manual order on one linked account."""

    account_id: Id
    security_id: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    exchange_segment: ExchangeSegment
    transaction_type: TransactionType
    quantity: int = Field(gt=0, le=10_000_000)
    order_type: OrderType
    product_type: ProductType
    validity: Validity = Validity.DAY
    price: Price | None = None
    trigger_price: Price | None = None
    tag: str | None = Field(default=None, max_length=50)
    client_order_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
        description="Idempotency key: the same key places at most one order")

    @model_validator(mode="after")
    def _prices_fit_type(self) -> PlaceOrder:
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LOSS) and not self.price:
            raise ValueError("price is required for LIMIT and STOP_LOSS orders")
        if self.order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET) \
                and not self.trigger_price:
            raise ValueError("triggerPrice is required for stop-loss orders")
        return self


class OrderRef(ApiModel):
    """Name one order."""

    order_id: Id


class ModifyOrder(ApiModel):
    """Change an open order; omitted fields keep their value."""

    order_id: Id
    quantity: int | None = Field(default=None, gt=0, le=10_000_000)
    order_type: OrderType | None = None
    price: Price | None = None
    trigger_price: Price | None = None
    validity: Validity | None = None


class ListOrders(PageQuery):
    """Filter the acting user's orders (newest first)."""

    account_id: Id | None = None
    status: OrderStatus | None = None
    security_id: str | None = Field(default=None, max_length=20)
    deployment_id: Id | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None


class Order(ApiReply):
    """One order as the user sees it."""

    id: str
    intent_id: str
    account_id: str
    deployment_id: str | None = None
    broker_order_id: str | None = None
    security_id: str
    exchange_segment: str
    transaction_type: str
    quantity: int
    filled_quantity: int = 0
    order_type: str
    product_type: str
    validity: str
    price: Price | None = None
    trigger_price: Price | None = None
    average_price: Price | None = None
    status: OrderStatus
    reason: str | None = None
    tag: str | None = None
    source: str = "manual"
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ListTrades(PageQuery):
    """Filter the acting user's fills (newest first)."""

    account_id: Id | None = None
    order_id: Id | None = None
    security_id: str | None = Field(default=None, max_length=20)
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None


class FillRef(ApiModel):
    """Name one fill."""

    trade_id: Id


class Trade(ApiReply):
    """One fill of an order, with its charges."""

    id: str
    order_id: str
    account_id: str
    broker_trade_id: str
    security_id: str
    exchange_segment: str
    transaction_type: str
    product_type: str
    quantity: int
    price: Price
    charges: Money = Field(default=0)
    traded_at: UtcDateTime

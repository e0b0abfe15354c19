"""The broker interface every adapter implements, with its typed values and error groups.

Money is `Decimal` rupees here; the wire floats of Dhan are converted at the parsing edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class BrokerError(Exception):
    """Root of every adapter failure."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class BrokerRetryable(BrokerError):
    """Transient (rate limit, 5xx, network, circuit open): the request was not applied."""


class BrokerUnknownOutcome(BrokerRetryable):
    """The request may or may not have been applied (timeout, dropped response, 5xx)."""

    def __init__(self, message: str, *, answered: bool, **kw) -> None:
        super().__init__(message, **kw)
        self.answered = answered  # True when a 5xx came back (the server finished with it)


class BrokerRejected(BrokerError):
    """The broker refused the request as sent; retrying cannot help."""


class BrokerAuthFailed(BrokerError):
    """The broker refused the credentials (expired or invalid token)."""


@dataclass(frozen=True)
class OrderRequest:
    """One order as the adapter sends it."""

    correlation_id: str
    security_id: str
    exchange_segment: str
    transaction_type: str
    quantity: int
    order_type: str
    product_type: str
    validity: str = "DAY"
    price: Decimal | None = None
    trigger_price: Decimal | None = None


@dataclass(frozen=True)
class OrderChange:
    """A modification; None keeps the current value."""

    quantity: int | None = None
    order_type: str | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    validity: str | None = None


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker reports it (status in the broker's words, e.g. PART_TRADED)."""

    broker_order_id: str
    status: str
    correlation_id: str = ""
    security_id: str = ""
    exchange_segment: str = ""
    transaction_type: str = ""
    quantity: int = 0
    filled_quantity: int = 0
    average_price: Decimal | None = None
    last_fill_price: Decimal | None = None
    reason: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class BrokerTrade:
    """One fill."""

    broker_trade_id: str
    broker_order_id: str
    security_id: str
    exchange_segment: str
    transaction_type: str
    product_type: str
    quantity: int
    price: Decimal
    traded_at: datetime
    charges: Decimal = Decimal(0)


@dataclass(frozen=True)
class BrokerPosition:
    """A position line."""

    security_id: str
    exchange_segment: str
    product_type: str
    net_quantity: int
    buy_quantity: int = 0
    sell_quantity: int = 0
    average_price: Decimal | None = None
    last_price: Decimal | None = None
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    trading_symbol: str = ""


@dataclass(frozen=True)
class BrokerHolding:
    """A settled holding."""

    security_id: str
    quantity: int
    average_price: Decimal
    last_price: Decimal | None = None
    exchange_segment: str = "NSE_EQ"
    trading_symbol: str = ""


@dataclass(frozen=True)
class Funds:
    """Fund limits."""

    available: Decimal
    used_margin: Decimal = Decimal(0)
    start_of_day: Decimal = Decimal(0)


@dataclass(frozen=True)
class Profile:
    """What a token check returns."""

    client_id: str
    active_segments: str = ""
    token_validity: str = ""
    extra: dict = field(default_factory=dict)


OrderUpdateHandler = Callable[[BrokerOrder], Awaitable[None]]


class BrokerAdapter(Protocol):
    """What the order and portfolio use cases need from a broker."""

    async def place(self, req: OrderRequest) -> BrokerOrder:
        """Send one new order; answer with the broker's order id and status."""
        ...

    async def find_by_correlation(self, correlation_id: str) -> BrokerOrder | None:
        """Return the order carrying this correlation id, or None if the broker has none."""
        ...

    async def get_order(self, broker_order_id: str) -> BrokerOrder | None:
        """Return one order, or None if the broker does not know it."""
        ...

    async def modify(self, broker_order_id: str, change: OrderChange,
                     current: BrokerOrder) -> BrokerOrder:
        """Change an open order."""
        ...

    async def cancel(self, broker_order_id: str) -> BrokerOrder:
        """Cancel an open order."""
        ...

    async def orders(self) -> list[BrokerOrder]:
        """Return today's order book."""
        ...

    async def trades(self, broker_order_id: str | None = None) -> list[BrokerTrade]:
        """Return today's fills (of one order, when given)."""
        ...

    async def positions(self) -> list[BrokerPosition]:
        """Return positions."""
        ...

    async def holdings(self) -> list[BrokerHolding]:
        """Return holdings."""
        ...

    async def funds(self) -> Funds:
        """Return fund limits."""
        ...

    async def profile(self) -> Profile:
        """Check the token and return the profile."""
        ...

    async def kill_switch(self, activate: bool) -> bool:
        """Set the broker-side kill switch; return the new state."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

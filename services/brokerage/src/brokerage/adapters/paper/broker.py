"""The paper exchange: open paper orders per account, matched on every live tick.

It keeps only open orders in memory; the service stores every order and fill, and rebuilds
the book from its tables on start (`restore`). Positions and funds come from the service's
ledger of paper fills, so the paper account survives restarts.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Protocol

from svckit.clock import Clock

from ..base import (
    BrokerHolding,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTrade,
    Funds,
    OrderChange,
    OrderRequest,
    Profile,
)
from .charges import MARGIN_RATE, charges
from .matching import Quote, evaluate

IST = timezone(timedelta(hours=5, minutes=30), "IST")
CLOSE = (15, 30)
UpdateSink = Callable[[str, BrokerOrder, BrokerTrade | None], Awaitable[None]]


class PaperLedger(Protocol):
    """What the service knows about a paper account's fills."""

    async def positions(self, account_id: str) -> list[BrokerPosition]: ...
    async def holdings(self, account_id: str) -> list[BrokerHolding]: ...
    async def funds(self, account_id: str) -> Funds: ...


@dataclass
class PaperOrder:
    """One open paper order."""

    account_id: str
    broker_order_id: str
    correlation_id: str
    security_id: str
    exchange_segment: str
    side: str
    quantity: int
    order_type: str
    product_type: str
    validity: str
    price: Decimal | None
    trigger: Decimal | None
    created: datetime
    filled: int = 0
    avg: Decimal | None = None
    status: str = "PENDING"
    fired: bool = False
    reason: str | None = None
    funds_checked: bool = False

    def view(self, last_fill: Decimal | None = None) -> BrokerOrder:
        """Return the order as a broker would report it."""
        return BrokerOrder(broker_order_id=self.broker_order_id, status=self.status,
                           correlation_id=self.correlation_id, security_id=self.security_id,
                           exchange_segment=self.exchange_segment, transaction_type=self.side,
                           quantity=self.quantity, filled_quantity=self.filled,
                           average_price=self.avg, last_fill_price=last_fill,
                           reason=self.reason)


class PaperExchange:
    """Every paper account's open orders and the last quote per instrument."""

    def __init__(self, clock: Clock, sink: UpdateSink, ledger: PaperLedger) -> None:
        self.clock = clock
        self.sink = sink
        self.ledger = ledger
        self.books: dict[str, dict[str, PaperOrder]] = {}
        self.quotes: dict[tuple[str, str], Quote] = {}
        self.on_new_instrument: Callable[[str, str], Awaitable[None]] | None = None

    def adapter(self, account_id: str) -> PaperAdapter:
        """Return the broker interface of one paper account."""
        return PaperAdapter(self, account_id)

    def instruments(self) -> set[tuple[str, str]]:
        """Return the (segment, securityId) pairs with open paper orders."""
        return {(o.exchange_segment, o.security_id) for b in self.books.values()
                for o in b.values()}

    def restore(self, order: PaperOrder) -> None:
        """Put an open order (loaded from the database) back in the book."""
        self.books.setdefault(order.account_id, {})[order.broker_order_id] = order

    def find(self, account_id: str, correlation_id: str) -> PaperOrder | None:
        """Return an open order by correlation id."""
        return next((o for o in self.books.get(account_id, {}).values()
                     if o.correlation_id == correlation_id), None)

    async def on_tick(self, segment: str, security_id: str, quote: Quote) -> None:
        """Record a quote and fill whatever it crosses."""
        self.quotes[(segment, security_id)] = quote
        for book in list(self.books.values()):
            for order in [o for o in book.values()
                          if o.exchange_segment == segment and o.security_id == security_id]:
                await self._match(order, quote)

    async def shortfall(self, account_id: str, side: str, product: str, quantity: int,
                        price: Decimal) -> str | None:
        """Return why the account cannot pay for an order at `price`, or None if it can."""
        if side == "SELL" and product == "CNC":
            return None
        need = price * quantity * MARGIN_RATE.get(product, Decimal(1))
        funds = await self.ledger.funds(account_id)
        if need > funds.available:
            return f"Insufficient funds: need {need:.2f}, available {funds.available:.2f}"
        return None

    async def _match(self, order: PaperOrder, quote: Quote) -> None:
        fill = evaluate(order.side, order.order_type, order.price, order.trigger, order.fired,
                        order.quantity - order.filled, quote)
        order.fired = fill.triggered
        if fill.quantity and not order.funds_checked:
            # Placed before any quote was known: the risk check happens at the first fill.
            order.funds_checked = True
            why = await self.shortfall(order.account_id, order.side, order.product_type,
                                       order.quantity, fill.price)
            if why:
                await self._finish(order, "REJECTED", why)
                return
        if fill.quantity:
            total = (order.avg or Decimal(0)) * order.filled + fill.price * fill.quantity
            order.filled += fill.quantity
            order.avg = (total / order.filled).quantize(Decimal("0.0001"))
            order.status = "TRADED" if order.filled == order.quantity else "PART_TRADED"
            now = self.clock.now()
            trade = BrokerTrade(
                broker_trade_id=f"PT{uuid.uuid4().hex[:16]}",
                broker_order_id=order.broker_order_id, security_id=order.security_id,
                exchange_segment=order.exchange_segment, transaction_type=order.side,
                product_type=order.product_type, quantity=fill.quantity, price=fill.price,
                traded_at=now,
                charges=charges(segment=order.exchange_segment, product=order.product_type,
                                side=order.side, quantity=fill.quantity, price=fill.price,
                                on=now.astimezone(IST).date()))
            if order.status == "TRADED":
                self._drop(order)
            await self.sink(order.account_id, order.view(fill.price), trade)
        if order.validity == "IOC" and order.status in ("PENDING", "PART_TRADED"):
            await self._finish(order, "CANCELLED", "IOC order cancelled for unfilled quantity")

    async def _finish(self, order: PaperOrder, status: str, reason: str | None) -> None:
        order.status, order.reason = status, reason
        self._drop(order)
        await self.sink(order.account_id, order.view(), None)

    def _drop(self, order: PaperOrder) -> None:
        self.books.get(order.account_id, {}).pop(order.broker_order_id, None)

    async def expire_day(self) -> None:
        """Expire DAY orders at the close (15:30 IST) or once their day has passed."""
        now = self.clock.now().astimezone(IST)
        for book in list(self.books.values()):
            for order in list(book.values()):
                created = order.created.astimezone(IST)
                if order.validity == "DAY" and (now.date() > created.date() or
                                                (now.hour, now.minute) >= CLOSE > (
                                                    created.hour, created.minute)):
                    await self._finish(order, "EXPIRED", "Order expired at market close")


class PaperAdapter:
    """The `BrokerAdapter` of one paper account."""

    def __init__(self, exchange: PaperExchange, account_id: str) -> None:
        self.ex = exchange
        self.account_id = account_id

    async def place(self, req: OrderRequest) -> BrokerOrder:
        """Accept the order into the paper book (funds checked), then match it at once."""
        quote = self.ex.quotes.get((req.exchange_segment, req.security_id))
        ref = req.price or (quote.ltp if quote else None)
        if ref is not None:
            why = await self.ex.shortfall(self.account_id, req.transaction_type,
                                          req.product_type, req.quantity, ref)
            if why:
                raise BrokerRejected(why, code="PAPER-FUNDS")
        order = PaperOrder(
            account_id=self.account_id, broker_order_id=f"P{uuid.uuid4().int % 10**14:014d}",
            correlation_id=req.correlation_id, security_id=req.security_id,
            exchange_segment=req.exchange_segment, side=req.transaction_type,
            quantity=req.quantity, order_type=req.order_type, product_type=req.product_type,
            validity=req.validity, price=req.price, trigger=req.trigger_price,
            created=self.ex.clock.now(), funds_checked=ref is not None)
        self.ex.restore(order)
        if self.ex.on_new_instrument:
            await self.ex.on_new_instrument(req.exchange_segment, req.security_id)
        return order.view()

    async def fill_now(self, broker_order_id: str) -> None:
        """Match a just-recorded order against the last known quote."""
        order = self.ex.books.get(self.account_id, {}).get(broker_order_id)
        if order is None:
            return
        quote = self.ex.quotes.get((order.exchange_segment, order.security_id))
        if quote is not None:
            await self.ex._match(order, quote)
        elif order.validity == "IOC":
            await self.ex._finish(order, "CANCELLED", "IOC order found no market")

    async def find_by_correlation(self, correlation_id: str) -> BrokerOrder | None:
        """Return the open paper order with this correlation id."""
        order = self.ex.find(self.account_id, correlation_id)
        return order.view() if order else None

    async def get_order(self, broker_order_id: str) -> BrokerOrder | None:
        """Return one open paper order."""
        order = self.ex.books.get(self.account_id, {}).get(broker_order_id)
        return order.view() if order else None

    async def modify(self, broker_order_id: str, change: OrderChange,
                     current: BrokerOrder) -> BrokerOrder:
        """Change an open paper order."""
        order = self._open(broker_order_id)
        if change.quantity is not None and change.quantity <= order.filled:
            raise BrokerRejected("Invalid quantity for modification", code="PAPER-QTY")
        order.quantity = change.quantity or order.quantity
        order.order_type = change.order_type or order.order_type
        order.price = change.price if change.price is not None else order.price
        order.trigger = change.trigger_price if change.trigger_price is not None else order.trigger
        order.validity = change.validity or order.validity
        view = order.view()
        await self.fill_now(broker_order_id)
        return replace(view)

    async def cancel(self, broker_order_id: str) -> BrokerOrder:
        """Cancel an open paper order."""
        order = self._open(broker_order_id)
        await self.ex._finish(order, "CANCELLED", "Cancelled by user")
        return order.view()

    def _open(self, broker_order_id: str) -> PaperOrder:
        order = self.ex.books.get(self.account_id, {}).get(broker_order_id)
        if order is None:
            raise BrokerRejected("Order is not open", code="PAPER-NOT-OPEN", status=400)
        return order

    async def orders(self) -> list[BrokerOrder]:
        """Return the open paper orders (closed ones live in the service's tables)."""
        return [o.view() for o in self.ex.books.get(self.account_id, {}).values()]

    async def trades(self, broker_order_id: str | None = None) -> list[BrokerTrade]:
        """Paper fills are pushed as they happen; there is no book to read back."""
        return []

    async def positions(self) -> list[BrokerPosition]:
        """Return positions from the ledger."""
        return await self.ex.ledger.positions(self.account_id)

    async def holdings(self) -> list[BrokerHolding]:
        """Return holdings from the ledger."""
        return await self.ex.ledger.holdings(self.account_id)

    async def funds(self) -> Funds:
        """Return funds from the ledger."""
        return await self.ex.ledger.funds(self.account_id)

    async def profile(self) -> Profile:
        """A paper account is always reachable."""
        return Profile(client_id=f"PAPER-{self.account_id[:8]}", active_segments="Paper",
                       token_validity="")

    async def kill_switch(self, activate: bool) -> bool:
        """The service enforces the kill switch for paper accounts."""
        return activate

    async def close(self) -> None:
        """Nothing to release."""

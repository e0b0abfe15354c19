"""Portfolio queries over every account of a user, and the paper ledger built from fills."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
from contracts import brokerage as c
from svckit.clock import Clock
from svckit.errors import Unavailable

from . import repository as repo
from .adapters.base import BrokerAuthFailed, BrokerError, BrokerHolding, BrokerPosition, Funds
from .adapters.paper.broker import IST, PaperExchange
from .adapters.paper.charges import MARGIN_RATE
from .brokers import Brokers
from .errors import AccountNotFound

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass
class _Book:
    net: int = 0
    buy: int = 0
    sell: int = 0
    avg: Decimal = ZERO
    realized: Decimal = ZERO
    charges: Decimal = ZERO


def book_from_fills(fills: list[Any]) -> dict[tuple[str, str, str], _Book]:
    """Fold fills into positions (average-cost method), per (segment, security, product)."""
    books: dict[tuple[str, str, str], _Book] = defaultdict(_Book)
    for f in fills:
        b = books[(f["exchange_segment"], f["security_id"], f["product_type"])]
        qty, price = f["quantity"], Decimal(f["price"])
        b.charges += Decimal(f["charges"])
        signed = qty if f["transaction_type"] == "BUY" else -qty
        if f["transaction_type"] == "BUY":
            b.buy += qty
        else:
            b.sell += qty
        if b.net == 0 or (b.net > 0) == (signed > 0):
            total = b.avg * abs(b.net) + price * qty
            b.net += signed
            b.avg = total / abs(b.net)
            continue
        closing = min(qty, abs(b.net))
        b.realized += (price - b.avg) * closing * (1 if b.net > 0 else -1)
        b.net += signed
        if b.net == 0:
            b.avg = ZERO
        elif abs(signed) > closing:
            b.avg = price
    return books


class PaperLedger:
    """Positions, holdings and funds of paper accounts, from their stored fills."""

    def __init__(self, pool: asyncpg.Pool, exchange: PaperExchange | None = None) -> None:
        self.pool = pool
        self.exchange = exchange

    def _ltp(self, segment: str, security_id: str) -> Decimal | None:
        quote = self.exchange.quotes.get((segment, security_id)) if self.exchange else None
        return quote.ltp if quote else None

    async def _books(self, account_id: str) -> tuple[Any, dict]:
        async with self.pool.acquire() as conn:
            account = await repo.get_account(conn, account_id)
            fills = await repo.account_fills(conn, account_id)
        return account, book_from_fills(fills)

    async def positions(self, account_id: str) -> list[BrokerPosition]:
        """Return every position line of a paper account."""
        _, books = await self._books(account_id)
        out = []
        for (seg, sid, product), b in books.items():
            ltp = self._ltp(seg, sid)
            unreal = (ltp - b.avg) * b.net if ltp is not None and b.net else ZERO
            out.append(BrokerPosition(security_id=sid, exchange_segment=seg, product_type=product,
                                      net_quantity=b.net, buy_quantity=b.buy, sell_quantity=b.sell,
                                      average_price=b.avg.quantize(CENT) if b.net else None,
                                      last_price=ltp, realized_pnl=b.realized.quantize(CENT),
                                      unrealized_pnl=unreal.quantize(CENT)))
        return out

    async def holdings(self, account_id: str) -> list[BrokerHolding]:
        """Paper delivery (CNC) longs count as holdings."""
        return [BrokerHolding(security_id=p.security_id, quantity=p.net_quantity,
                              average_price=p.average_price or ZERO, last_price=p.last_price,
                              exchange_segment=p.exchange_segment)
                for p in await self.positions(account_id)
                if p.product_type == "CNC" and p.net_quantity > 0]

    async def funds(self, account_id: str) -> Funds:
        """Capital + realized - charges - margin blocked by open positions."""
        account, books = await self._books(account_id)
        capital = Decimal(account["starting_capital"] or 0) if account else ZERO
        used = sum((abs(b.net) * b.avg * MARGIN_RATE.get(k[2], Decimal(1))
                    for k, b in books.items()), ZERO)
        realized = sum((b.realized for b in books.values()), ZERO)
        costs = sum((b.charges for b in books.values()), ZERO)
        return Funds(available=(capital + realized - costs - used).quantize(CENT),
                     used_margin=used.quantize(CENT), start_of_day=capital)


class Portfolio:
    """Portfolio use cases."""

    def __init__(self, pool: asyncpg.Pool, brokers: Brokers, clock: Clock) -> None:
        self.pool = pool
        self.brokers = brokers
        self.clock = clock

    async def _accounts(self, user_id: str, account_id: str | None) -> list[Any]:
        async with self.pool.acquire() as conn:
            if account_id:
                row = await repo.get_account(conn, account_id, user_id)
                if row is None:
                    raise AccountNotFound()
                rows = [row]
            else:
                rows = await repo.list_accounts(conn, user_id)
        return [r for r in rows if r["status"] == "active"]

    async def _each(self, user_id: str, account_id: str | None, what: str) -> list[tuple[Any, Any]]:
        out = []
        for row in await self._accounts(user_id, account_id):
            try:
                out.append((row, await getattr(self.brokers.adapter(row), what)()))
            except BrokerAuthFailed as exc:
                raise Unavailable("The broker refused the login; link the account again") from exc
            except BrokerError as exc:
                raise Unavailable(f"The broker did not answer: {exc.message}") from exc
        return out

    async def positions(self, user_id: str, account_id: str | None) -> c.PositionList:
        """Return positions of the scoped accounts."""
        items = [c.Position(account_id=str(row["id"]), security_id=p.security_id,
                            exchange_segment=p.exchange_segment, product_type=p.product_type,
                            trading_symbol=p.trading_symbol, net_quantity=p.net_quantity,
                            buy_quantity=p.buy_quantity, sell_quantity=p.sell_quantity,
                            average_price=p.average_price, last_price=p.last_price,
                            realized_pnl=p.realized_pnl.quantize(CENT),
                            unrealized_pnl=p.unrealized_pnl.quantize(CENT))
                 for row, lines in await self._each(user_id, account_id, "positions")
                 for p in lines]
        return c.PositionList(items=items)

    async def holdings(self, user_id: str, account_id: str | None) -> c.HoldingList:
        """Return holdings of the scoped accounts."""
        items = []
        for row, lines in await self._each(user_id, account_id, "holdings"):
            for h in lines:
                value = (h.last_price * h.quantity).quantize(CENT) if h.last_price else None
                unreal = ((h.last_price - h.average_price) * h.quantity).quantize(CENT) \
                    if h.last_price else None
                items.append(c.Holding(account_id=str(row["id"]), security_id=h.security_id,
                                       exchange_segment=h.exchange_segment,
                                       trading_symbol=h.trading_symbol, quantity=h.quantity,
                                       average_price=h.average_price, last_price=h.last_price,
                                       value=value, unrealized_pnl=unreal))
        return c.HoldingList(items=items)

    async def _charges(self, account_ids: list[str]) -> Decimal:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(
                "SELECT coalesce(sum(charges), 0) FROM trades WHERE account_id::text = ANY($1)",
                account_ids)

    async def pnl(self, user_id: str, account_id: str | None) -> c.PnlBreakdown:
        """Return P&L per instrument and totals."""
        positions = (await self.positions(user_id, account_id)).items
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT account_id::text AS a, security_id, exchange_segment, sum(charges) AS c"
                " FROM trades WHERE user_id = $1 GROUP BY 1, 2, 3", user_id)
        costs = {(r["a"], r["security_id"], r["exchange_segment"]): r["c"] for r in rows}
        items = [c.PnlLine(account_id=p.account_id, security_id=p.security_id,
                           exchange_segment=p.exchange_segment, realized_pnl=p.realized_pnl,
                           unrealized_pnl=p.unrealized_pnl,
                           charges=costs.get((p.account_id, p.security_id, p.exchange_segment),
                                             ZERO))
                 for p in positions]
        realized = sum((i.realized_pnl for i in items), ZERO)
        unreal = sum((i.unrealized_pnl for i in items), ZERO)
        charges = sum((i.charges for i in items), ZERO)
        return c.PnlBreakdown(items=items, realized_pnl=realized, unrealized_pnl=unreal,
                              charges=charges, net_pnl=realized + unreal - charges)

    async def summary(self, user_id: str, account_id: str | None) -> c.PortfolioSummary:
        """Return funds and P&L of the scoped accounts, and record today's value."""
        funds = await self._each(user_id, account_id, "funds")
        positions = (await self.positions(user_id, account_id)).items
        holdings = (await self.holdings(user_id, account_id)).items
        ids = [str(row["id"]) for row, _ in funds]
        charges = await self._charges(ids)
        available = sum((f.available for _, f in funds), ZERO)
        used = sum((f.used_margin for _, f in funds), ZERO)
        realized = sum((p.realized_pnl for p in positions), ZERO)
        unreal = sum((p.unrealized_pnl for p in positions), ZERO)
        hold_value = sum((h.value or ZERO for h in holdings), ZERO)
        day = self.clock.now().astimezone(IST).date()
        async with self.pool.acquire() as conn:
            for row, f in funds:
                aid = str(row["id"])
                a_unreal = sum((p.unrealized_pnl for p in positions if p.account_id == aid), ZERO)
                a_real = sum((p.realized_pnl for p in positions if p.account_id == aid), ZERO)
                await repo.record_day(conn, aid, day, (f.available + f.used_margin + a_unreal)
                                      .quantize(CENT), (a_real + a_unreal).quantize(CENT))
        return c.PortfolioSummary(
            available_funds=available.quantize(CENT), used_margin=used.quantize(CENT),
            holdings_value=hold_value.quantize(CENT),
            positions_count=sum(1 for p in positions if p.net_quantity),
            realized_pnl=realized.quantize(CENT), unrealized_pnl=unreal.quantize(CENT),
            total_pnl=(realized + unreal - charges).quantize(CENT), charges=charges,
            accounts=len(funds))

    async def history(self, user_id: str, q: c.HistoryQuery) -> c.PortfolioHistory:
        """Return recorded daily values."""
        rows = await self._accounts(user_id, q.account_id)
        async with self.pool.acquire() as conn:
            days = await repo.history(conn, [str(r["id"]) for r in rows], q.since, q.until)
        return c.PortfolioHistory(items=[c.HistoryPoint(date=d["day"], value=d["value"],
                                                        pnl=d["pnl"]) for d in days])

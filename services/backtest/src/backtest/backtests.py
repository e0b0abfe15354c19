"""Backtest use cases: queue (outbox), status, cancel, history, results."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from contracts import backtest as C
from contracts.api import Page
from contracts.events.backtest import BacktestCancelled, BacktestJob, BacktestQueued
from contracts.types import rupees_to_paise
from svckit.clock import Clock
from svckit.outbox import enqueue

from . import backtest_sql as bsql
from . import repository as repo
from .compute import IST
from .domain import ARCHIVED
from .errors import Conflict, NotFound
from .publish import backtest_event, emit_backtest

FINAL = ("completed", "failed", "cancelled")


def to_model(row: Any) -> C.Backtest:
    """Build the reply model from a backtest row joined with its version."""
    return C.Backtest(
        id=str(row["id"]), strategy_id=str(row["strategy_id"]),
        strategy_version_id=str(row["strategy_version_id"]),
        strategy_version=row["strategy_version"], strategy_name=row["strategy_name"],
        status=row["status"], progress=row["progress"],
        params=C.BacktestParams.model_validate(row["params"]), attempts=row["attempts"],
        error=row["error"], metrics=row["metrics"], created_at=row["created_at"],
        started_at=row["started_at"], completed_at=row["completed_at"])


def job_for(bid: uuid.UUID, user_id: str, s: Any, body: C.CreateBacktest, interval: str) -> BacktestJob:
    """Pin everything the worker needs: the strategy version's fields and the parameters."""
    return BacktestJob(
        backtest_id=str(bid), user_id=user_id, strategy_id=str(s["id"]),
        strategy_version_id=str(s["version_id"]), segment=s["segment"],
        security_id=s["security_id"], symbol=s["symbol"], interval=interval,
        from_date=body.from_date, to_date=body.to_date, entry_rule=s["entry_rule"],
        exit_rule=s["exit_rule"],
        stop_loss_pct=float(s["stop_loss_pct"]) if s["stop_loss_pct"] is not None else None,
        target_pct=float(s["target_pct"]) if s["target_pct"] is not None else None,
        quantity=s["position_size"], max_positions=s["max_positions"], product=s["product_type"],
        direction=s["direction"], initial_capital_paise=rupees_to_paise(body.initial_capital),
        costs=body.costs, slippage_bps=body.slippage_bps)


def trade_model(r: Any) -> C.Trade:
    """Build a trade reply from a stored row (paise to exact rupees, times in IST)."""
    def rupees(p: int) -> Decimal:
        return (Decimal(p) / 100).quantize(Decimal("0.01"))

    entry, exit_ = r["entry_time"].astimezone(IST), r["exit_time"].astimezone(IST)
    return C.Trade(seq=r["seq"], entry_time=entry, exit_time=exit_, side=r["side"], qty=r["qty"],
                   entry_price=rupees(r["entry_paise"]), exit_price=rupees(r["exit_paise"]),
                   pnl_gross=rupees(r["gross_paise"]), charges=rupees(r["charges_paise"]),
                   pnl_net=rupees(r["net_paise"]), exit_reason=r["exit_reason"],
                   holding_seconds=(exit_ - entry).total_seconds())


class Backtests:
    """Backtest use cases for one service instance."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self.pool = pool
        self.clock = clock

    async def create(self, user_id: str, body: C.CreateBacktest) -> C.Backtest:
        """Store a queued backtest, its job and its event in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            if body.strategy_version_id:
                s = await repo.strategy_by_version(conn, user_id, body.strategy_id,
                                                   body.strategy_version_id)
            else:
                s = await repo.strategy(conn, user_id, body.strategy_id)
            if s is None:
                raise NotFound("Strategy not found")
            if s["status"] == ARCHIVED:
                raise Conflict("The strategy is archived")
            interval = body.interval or s["timeframe"]
            params = C.BacktestParams(from_date=body.from_date, to_date=body.to_date,
                                      interval=interval, initial_capital=body.initial_capital,
                                      costs=body.costs, slippage_bps=body.slippage_bps)
            bid = uuid.uuid4()
            await bsql.insert(conn, bid, user_id, s["id"], s["version_id"],
                              params.model_dump(mode="json", by_alias=False))
            await enqueue(conn, C.JOB_SUBJECT, job_for(bid, user_id, s, body, interval),
                          msg_id=str(bid))
            row = await bsql.get(conn, user_id, str(bid))
            await emit_backtest(conn, backtest_event(BacktestQueued, row, self.clock))
            return to_model(row)

    async def get(self, user_id: str, bid: str) -> C.Backtest:
        """Return a user's backtest."""
        async with self.pool.acquire() as conn:
            row = await bsql.get(conn, user_id, bid)
        if row is None:
            raise NotFound("Backtest not found")
        return to_model(row)

    async def cancel(self, user_id: str, bid: str) -> C.Backtest:
        """Cancel a queued or running backtest; the worker drops it at its next step."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await bsql.get(conn, user_id, bid, lock=True)
            if row is None:
                raise NotFound("Backtest not found")
            if row["status"] in FINAL:
                raise Conflict(f"The backtest is already {row['status']}")
            await bsql.finish(conn, row["id"], "cancelled", None, self.clock.now())
            await emit_backtest(conn, backtest_event(BacktestCancelled, row, self.clock))
            return to_model(await bsql.get(conn, user_id, bid))

    async def history(self, user_id: str, q: C.BacktestHistoryQuery) -> C.BacktestPage:
        """Return one page of the user's backtests."""
        async with self.pool.acquire() as conn:
            rows, total = await bsql.page(conn, user_id, q)
        return C.BacktestPage(items=[to_model(r) for r in rows], total=total, page=q.page,
                              page_size=q.page_size)

    async def completed(self, conn: asyncpg.Connection, user_id: str, bid: str) -> Any:
        """Return a user's completed backtest row, refusing others."""
        row = await bsql.get(conn, user_id, bid)
        if row is None:
            raise NotFound("Backtest not found")
        if row["status"] != "completed":
            raise Conflict(f"The backtest is {row['status']}; results exist once it completes")
        return row

    async def results(self, user_id: str, q: C.GetResults) -> C.BacktestResults:
        """Return metrics, the equity curve and one page of trades."""
        async with self.pool.acquire() as conn:
            row = await self.completed(conn, user_id, q.id)
            stored = await bsql.results(conn, row["id"])
            trades, total = await bsql.trades(conn, row["id"], q.page_size, (q.page - 1) * q.page_size)
        return C.BacktestResults(
            id=q.id, status=row["status"], bars=row["bars"] or 0, metrics=row["metrics"],
            equity_curve=[C.EquityPoint(ts=datetime.fromisoformat(p["ts"]), equity=p["equity"],
                                        drawdown=p["drawdown"], drawdown_pct=p["drawdownPct"])
                          for p in stored["equity_curve"]],
            trades=Page[C.Trade](items=[trade_model(t) for t in trades], total=total, page=q.page,
                                 page_size=q.page_size))

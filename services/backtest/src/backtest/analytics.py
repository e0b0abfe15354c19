"""Analytics queries over stored results: strategy metrics, comparison, drawdowns, distribution, heat map."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from contracts import backtest as C

from . import backtest_sql as bsql
from . import repository as repo
from .backtests import Backtests
from .errors import Conflict, NotFound


class Analytics:
    """Read-only analytics of a user's strategies and backtests."""

    def __init__(self, pool: asyncpg.Pool, backtests: Backtests) -> None:
        self.pool = pool
        self.backtests = backtests

    async def _strategy(self, conn: asyncpg.Connection, user_id: str, sid: str) -> Any:
        row = await repo.strategy(conn, user_id, sid)
        if row is None:
            raise NotFound("Strategy not found")
        return row

    async def _resolve(self, conn: asyncpg.Connection, user_id: str,
                       q: C.AnalyticsQuery) -> tuple[Any, Any]:
        """Return (strategy row, completed backtest row): the one named, else the latest."""
        s = await self._strategy(conn, user_id, q.id)
        bid = q.backtest_id or await bsql.latest_completed(conn, s["id"])
        if bid is None:
            raise Conflict("The strategy has no completed backtest yet")
        b = await self.backtests.completed(conn, user_id, bid)
        if b["strategy_id"] != s["id"]:
            raise NotFound("Backtest not found for this strategy")
        return s, b

    async def strategy(self, user_id: str, q: C.AnalyticsQuery) -> C.StrategyAnalytics:
        """Return a strategy's latest (or named) backtest metrics and a summary of all its runs."""
        async with self.pool.acquire() as conn:
            s = await self._strategy(conn, user_id, q.id)
            counts = await bsql.counts(conn, s["id"])
            b = None
            if q.backtest_id or counts["completed"]:
                _, b = await self._resolve(conn, user_id, q)
        return C.StrategyAnalytics(
            strategy_id=q.id, strategy_name=s["name"], backtest_id=str(b["id"]) if b else None,
            backtests=counts["total"], completed=counts["completed"],
            metrics=b["metrics"] if b else None, best_return_pct=counts["best"],
            worst_return_pct=counts["worst"])

    async def compare(self, user_id: str, q: C.CompareQuery) -> C.Comparison:
        """Put backtests side by side (strategies by their latest completed backtest)."""
        rows = []
        async with self.pool.acquire() as conn:
            ids = list(q.backtest_ids)
            for sid in q.strategy_ids:
                s = await self._strategy(conn, user_id, sid)
                bid = await bsql.latest_completed(conn, s["id"])
                if bid is None:
                    raise Conflict(f"Strategy {sid} has no completed backtest yet")
                ids.append(bid)
            for bid in ids:
                b = await self.backtests.completed(conn, user_id, bid)
                rows.append(C.ComparisonRow(
                    backtest_id=str(b["id"]), strategy_id=str(b["strategy_id"]),
                    strategy_name=b["strategy_name"], strategy_version=b["strategy_version"],
                    params=C.BacktestParams.model_validate(b["params"]), metrics=b["metrics"]))
        return C.Comparison(rows=rows)

    async def _stored(self, user_id: str, q: C.AnalyticsQuery) -> tuple[Any, Any]:
        async with self.pool.acquire() as conn:
            _, b = await self._resolve(conn, user_id, q)
            return b, await bsql.results(conn, b["id"])

    async def drawdown(self, user_id: str, q: C.AnalyticsQuery) -> C.DrawdownAnalysis:
        """Return the deepest drawdown periods and the drawdown curve."""
        b, stored = await self._stored(user_id, q)
        m = b["metrics"]
        return C.DrawdownAnalysis(
            strategy_id=q.id, backtest_id=str(b["id"]), max_drawdown=m.get("maxDrawdown") or 0.0,
            max_drawdown_pct=m.get("maxDrawdownPct") or 0.0,
            periods=[C.DrawdownPeriod.model_validate(p) for p in stored["analytics"]["drawdownPeriods"]],
            curve=[C.EquityPoint(ts=datetime.fromisoformat(p["ts"]), equity=p["equity"],
                                 drawdown=p["drawdown"], drawdown_pct=p["drawdownPct"])
                   for p in stored["equity_curve"]])

    async def distribution(self, user_id: str, q: C.AnalyticsQuery) -> C.TradeDistribution:
        """Return the net P&L histogram and win/loss statistics."""
        b, stored = await self._stored(user_id, q)
        a = stored["analytics"]
        return C.TradeDistribution.model_validate(
            {"strategyId": q.id, "backtestId": str(b["id"]), **a["histogram"], **a["distribution"]})

    async def heatmap(self, user_id: str, q: C.AnalyticsQuery) -> C.ReturnsHeatmap:
        """Return the returns heat map."""
        b, stored = await self._stored(user_id, q)
        return C.ReturnsHeatmap.model_validate(
            {"strategyId": q.id, "backtestId": str(b["id"]), **stored["analytics"]["heatmap"]})

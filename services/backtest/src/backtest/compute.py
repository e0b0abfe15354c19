"""Pure backtest computation: a job and its bars in, everything the results tables hold out.

No I/O: the worker calls these in a thread, between progress reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import btengine
import numpy as np
import polars as pl
import strategy as rules
from btengine.analytics import drawdown
from btengine.costs import ChargeTableError
from contracts.events.backtest import BacktestJob
from pydantic.alias_generators import to_camel
from strategy import vectorized

from .errors import BacktestError

IST = timezone(timedelta(hours=5, minutes=30))
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TRADE_COLUMNS = ("backtest_id", "seq", "entry_time", "exit_time", "side", "qty", "entry_paise",
                 "exit_paise", "gross_paise", "charges_paise", "net_paise", "exit_reason")


@dataclass
class Outcome:
    """What one backtest produced, ready for the results tables."""

    bars: int
    metrics: dict[str, Any]
    equity_curve: list[dict[str, Any]]
    analytics: dict[str, Any]
    trades: list[tuple]
    net_profit_paise: int


def window(from_date: date, to_date: date) -> tuple[datetime, datetime]:
    """Return the UTC instants covering IST days [from_date, to_date] (end exclusive)."""
    start = datetime.combine(from_date, time(0), IST).astimezone(UTC)
    end = datetime.combine(to_date + timedelta(days=1), time(0), IST).astimezone(UTC)
    return start, end


def engine_settings(job: BacktestJob) -> btengine.Settings:
    """Map a job onto the engine's settings (costs only where a charge table exists)."""
    return btengine.Settings(
        direction=job.direction, quantity=job.quantity, max_positions=job.max_positions,
        stop_loss_pct=job.stop_loss_pct, target_pct=job.target_pct,
        segment="NSE_EQ", product=job.product, slippage_bps=job.slippage_bps,
        costs=job.costs and costs_apply(job.segment),
        initial_capital=job.initial_capital_paise / 100,
    )


def costs_apply(segment: str) -> bool:
    """Return whether the cost tables cover a segment (cash equity; indices are not tradable)."""
    return segment == "NSE_EQ"


def signals(job: BacktestJob, bars: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the job's entry and exit rules on the bars."""
    try:
        entry, exit_ = rules.parse(job.entry_rule), rules.parse(job.exit_rule)
    except rules.RuleError as exc:
        raise BacktestError(f"rule no longer valid: {exc}") from exc
    e, x = vectorized.signals(entry, exit_, bars)
    return e.to_numpy(), x.to_numpy()


def run_engine(job: BacktestJob, bars: pl.DataFrame, entries: np.ndarray,
               exits: np.ndarray) -> btengine.Result:
    """Run the engine, turning a missing charge table into a rejected backtest."""
    try:
        return btengine.run(bars, entries, exits, engine_settings(job))
    except ChargeTableError as exc:
        raise BacktestError(f"{exc}; run this period with costs off") from exc


def package(job: BacktestJob, result: btengine.Result, max_points: int) -> Outcome:
    """Turn an engine result into rows, JSON metrics, a thinned curve and analytics."""
    metrics = json_metrics(result.metrics)
    metrics["costsApplied"] = job.costs and costs_apply(job.segment)
    trades = result.trades_frame()
    rows = [(job.backtest_id, i + 1, *r) for i, r in enumerate(trades.select(
        "entry_time", "exit_time", "side", "qty", "entry_price_paise", "exit_price_paise",
        "pnl_gross_paise", "charges_paise", "pnl_net_paise", "exit_reason").iter_rows())]
    net = trades.get_column("pnl_net_paise").to_numpy()
    return Outcome(
        bars=len(result.equity), metrics=metrics,
        equity_curve=thin_curve(result.bars.ts, result.equity, result.settings.initial_capital,
                                max_points),
        analytics=analytics(result, trades, net), trades=rows,
        net_profit_paise=int(net.sum()) if len(net) else 0,
    )


def _safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def json_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the engine's metrics with camelCase keys, exact money as strings, no inf/nan."""
    return {to_camel(k): _safe(v) for k, v in metrics.items()}


def thin_curve(ts_ns: np.ndarray, equity: np.ndarray, initial: float,
               max_points: int) -> list[dict[str, Any]]:
    """Keep at most `max_points` evenly spaced bars, plus the deepest drawdown and the last bar."""
    dd, dd_pct = drawdown(equity, initial)
    n = len(equity)
    idx = np.arange(n)
    if n > max_points:
        idx = np.unique(np.r_[np.linspace(0, n - 1, max_points - 1).round().astype(np.int64),
                              int(np.argmin(dd))])
    return [{"ts": _iso(int(ts_ns[i])), "equity": round(float(equity[i]), 2),
             "drawdown": round(float(dd[i]), 2), "drawdownPct": round(float(dd_pct[i]), 4)}
            for i in idx]


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    seconds, rest = divmod(ns, 10**9)
    at = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
    return at.astimezone(IST).isoformat()


def analytics(result: btengine.Result, trades: pl.DataFrame, net_paise: np.ndarray) -> dict[str, Any]:
    """Precompute what the analytics queries return (the bars are gone after the job)."""
    periods = [{"start": _iso(p["start"]), "trough": _iso(p["trough"]),
                "recovery": _iso(p["recovery"]), "depth": _safe(p["depth"]),
                "depthPct": _safe(p["depth_pct"]), "durationBars": p["duration_bars"],
                "durationSeconds": p["duration_ns"] / 1e9}
               for p in result.drawdown_periods(top=10)]
    heat = result.returns_heatmap()
    if heat["kind"] == "month_by_year":
        cols = [MONTHS[c - 1] for c in heat["cols"]]
    else:
        cols = [f"{c:02d}:00" for c in heat["cols"]]
    pnl = net_paise / 100
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    reasons = trades.get_column("exit_reason").value_counts() if trades.height else None
    return {
        "drawdownPeriods": periods,
        "histogram": result.pnl_histogram(),
        "heatmap": {"kind": heat["kind"], "rows": [str(r) for r in heat["rows"]], "cols": cols,
                    "values": [[_safe(v) for v in row] for row in heat["values"]]},
        "distribution": {
            "winners": len(wins), "losers": len(losses),
            "averageWin": _safe(wins.mean()) if len(wins) else None,
            "averageLoss": _safe(losses.mean()) if len(losses) else None,
            "largestWin": _safe(wins.max()) if len(wins) else None,
            "largestLoss": _safe(losses.min()) if len(losses) else None,
            "byExitReason": dict(reasons.iter_rows()) if reasons is not None else {},
        },
    }

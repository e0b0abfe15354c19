"""Backtest metrics with exact definitions (also listed in libs/backtesting/README.md).

Notation: ``C0`` initial capital; ``E[t]`` equity at the close of bar t (``E[-1] = C0``);
``r[t] = E[t] / E[t-1] - 1`` the per-bar return; ``P`` bars per year = 250 × 375 / bar
minutes for intraday bars, 250 for daily bars; ``rf`` the annual risk-free rate (default 0),
per bar ``rf_p = (1 + rf) ** (1 / P) - 1``; trade P&L is net of charges unless named gross.

- total_return_pct = (E[last] / C0 - 1) × 100
- cagr_pct = ((E[last] / C0) ** (1 / years) - 1) × 100, years = (last bar open + one bar
  - first bar open) / 365.25 days; -100 when E[last] <= 0
- max_drawdown / max_drawdown_pct: the largest fall of E below its running peak (peak
  includes C0), in rupees and in percent of that peak; reported as positive numbers
- sharpe = mean(r - rf_p) / stdev(r - rf_p, ddof=1) × sqrt(P); 0 when the stdev is 0
- sortino = mean(r - rf_p) / sqrt(mean(min(r - rf_p, 0)²)) × sqrt(P); None without a loss bar
- win_rate_pct = trades with net P&L > 0 / total trades × 100 (0 without trades)
- profit_factor = sum of winning net P&L / |sum of losing net P&L|; None without losers
- avg_trade_pnl = mean net P&L per trade (rupees); total_trades = number of closed trades
- avg_holding_seconds = mean(exit time - entry time); entry time is the fill bar's open,
  exit time the exit bar's open (signal, stop, target, square-off at an open) or its close
  (square-off or end at a close)
- exposure_pct = bars during which any position was open at any moment / all bars × 100
- net_profit, total_charges: exact rupee Decimals from integer paise
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from btengine.bars import DAY_NS, Bars

if TYPE_CHECKING:
    from btengine.result import Trades
    from btengine.settings import Settings

YEAR_NS = 365.25 * DAY_NS


def bar_returns(equity: np.ndarray, initial: float) -> np.ndarray:
    """Return per-bar returns of the equity curve, the first against initial capital."""
    prev = np.empty_like(equity)
    prev[0] = initial
    prev[1:] = equity[:-1]
    return equity / prev - 1


def sharpe_sortino(
    returns: np.ndarray, periods_per_year: float, risk_free: float = 0.0
) -> tuple[float, float | None]:
    """Return annualised (Sharpe, Sortino) of per-bar returns."""
    if len(returns) < 2:
        return 0.0, None
    rf_p = (1 + risk_free) ** (1 / periods_per_year) - 1
    ex = returns - rf_p
    mean = float(ex.mean())
    sd = float(ex.std(ddof=1))
    sharpe = mean / sd * np.sqrt(periods_per_year) if sd > 0 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(ex, 0.0) ** 2)))
    sortino = mean / downside * np.sqrt(periods_per_year) if downside > 0 else None
    return float(sharpe), (None if sortino is None else float(sortino))


def max_drawdown(equity: np.ndarray, initial: float) -> tuple[float, float]:
    """Return the maximum drawdown as (rupees, percent of the peak), both >= 0."""
    peak = np.maximum.accumulate(np.maximum(equity, initial))
    dd = peak - equity
    i = int(np.argmax(dd))
    pct = float(np.max(dd / peak)) * 100
    return float(dd[i]), pct


def cagr_pct(final: float, initial: float, years: float) -> float:
    """Return the compound annual growth rate in percent."""
    if final <= 0:
        return -100.0
    if years <= 0:
        return 0.0
    try:
        return float(((final / initial) ** (1 / years) - 1) * 100)
    except OverflowError:  # tiny spans annualise to astronomically large numbers
        return float("inf")


def compute_metrics(
    b: Bars, equity: np.ndarray, t: Trades, s: Settings, exposure: float
) -> dict[str, Any]:
    """Return every metric of the module docstring."""
    initial = s.initial_capital
    final = float(equity[-1])
    years = (int(b.ts[-1]) - int(b.ts[0]) + b.interval_ns) / YEAR_NS
    sharpe, sortino = sharpe_sortino(
        bar_returns(equity, initial), b.periods_per_year, s.risk_free_rate
    )
    dd_amount, dd_pct = max_drawdown(equity, initial)
    net = t.net_paise
    n = len(t)
    wins = net[net > 0]
    losses = net[net < 0]
    return {
        "initial_capital": initial,
        "final_equity": final,
        "net_profit": Decimal(int(net.sum())) / 100,
        "total_charges": Decimal(int(t.charges_paise.sum())) / 100,
        "total_return_pct": (final / initial - 1) * 100,
        "cagr_pct": cagr_pct(final, initial, years),
        "max_drawdown": dd_amount,
        "max_drawdown_pct": dd_pct,
        "sharpe": sharpe,
        "sortino": sortino,
        "win_rate_pct": len(wins) / n * 100 if n else 0.0,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else None,
        "avg_trade_pnl": float(net.mean() / 100) if n else 0.0,
        "total_trades": n,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "avg_holding_seconds": float(np.mean(t.exit_time - t.entry_time) / 1e9) if n else 0.0,
        "exposure_pct": exposure,
        "periods_per_year": b.periods_per_year,
    }

"""Analytics on a finished backtest: drawdown curve and periods, P&L histogram, heat map."""

from __future__ import annotations

from typing import Any

import numpy as np

from btengine.bars import DAY_NS, IST_OFFSET_NS, Bars
from btengine.metrics import bar_returns

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def drawdown(equity: np.ndarray, initial: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the drawdown curve: (equity - running peak) in rupees and percent (<= 0)."""
    peak = np.maximum.accumulate(np.maximum(equity, initial))
    dd = equity - peak
    return dd, dd / peak * 100


def drawdown_periods(
    ts: np.ndarray, equity: np.ndarray, initial: float, top: int | None = None
) -> list[dict[str, Any]]:
    """Return each run of bars below the running peak, chronologically (or the ``top`` deepest).

    start: first bar below the peak; trough: the lowest bar of the run; recovery: first bar
    back at or above the peak (None if never); depth and depth_pct: peak - trough equity in
    rupees and percent of the peak; duration_bars / duration_ns: start to recovery (or to
    the last bar when unrecovered). Times are epoch-ns UTC bar open times.
    """
    dd, dd_pct = drawdown(equity, initial)
    under = dd < 0
    if not under.any():
        return []
    edges = np.diff(np.r_[0, under.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    n = len(equity)
    out = []
    for a, z in zip(starts, ends, strict=True):
        trough = a + int(np.argmin(dd[a:z]))
        recovered = z < n
        stop = z if recovered else n - 1
        out.append(
            {
                "start": int(ts[a]),
                "trough": int(ts[trough]),
                "recovery": int(ts[z]) if recovered else None,
                "depth": float(-dd[trough]),
                "depth_pct": float(-dd_pct[trough]),
                "duration_bars": int(stop - a + (0 if recovered else 1)),
                "duration_ns": int(ts[stop] - ts[a]),
            }
        )
    if top is not None:
        out = sorted(out, key=lambda p: p["depth_pct"], reverse=True)[:top]
    return out


def pnl_histogram(pnl: np.ndarray, bins: int = 20) -> dict[str, list]:
    """Return ``edges`` (bins + 1, rupees) and ``counts`` of net trade P&L (numpy.histogram)."""
    if len(pnl) == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(pnl, bins=bins)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def returns_heatmap(b: Bars, equity: np.ndarray, initial: float) -> dict[str, Any]:
    """Return compounded returns (percent) per cell: weekday × hour (intraday) or year × month.

    A cell's value is prod(1 + r) - 1 over the per-bar returns r of the bars in it (bar
    labelled by its IST open time); cells without bars are None.
    """
    r = bar_returns(equity, initial)
    local = b.ts + IST_OFFSET_NS
    day = local // DAY_NS
    if b.is_daily:
        dt = local.astype("datetime64[ns]")
        years = dt.astype("datetime64[Y]").astype(np.int64) + 1970
        rows_val, row_idx = np.unique(years, return_inverse=True)
        col_idx = (dt.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)
        rows, cols = [int(y) for y in rows_val], list(range(1, 13))
        kind = "month_by_year"
    else:
        row_idx = ((day + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
        hours = (local % DAY_NS) // (3600 * 10**9)
        first_hour = int(hours.min())
        col_idx = (hours - first_hour).astype(np.int64)
        rows, cols = list(WEEKDAYS), list(range(first_hour, int(hours.max()) + 1))
        kind = "weekday_by_hour"
    shape = (len(rows), len(cols))
    cell = row_idx * shape[1] + col_idx
    log_sum = np.bincount(cell, weights=np.log1p(r), minlength=shape[0] * shape[1])
    seen = np.bincount(cell, minlength=shape[0] * shape[1]) > 0
    values = np.where(seen, np.expm1(log_sum) * 100, np.nan).reshape(shape)
    grid = [[None if np.isnan(v) else float(v) for v in row] for row in values]
    return {"kind": kind, "rows": rows, "cols": cols, "values": grid}

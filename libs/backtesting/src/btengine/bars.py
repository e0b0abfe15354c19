"""Bar input: normalise timestamps and prices, derive IST calendar fields once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

IST_OFFSET_NS = 19_800 * 10**9  # +05:30; India has no daylight saving
DAY_NS = 86_400 * 10**9
MINUTE_NS = 60 * 10**9
SESSION_MINUTES = 375  # NSE normal market 09:15-15:30
TRADING_DAYS_PER_YEAR = 250


@dataclass(frozen=True)
class Bars:
    """Bars as contiguous numpy arrays; ``ts`` is the bar OPEN time in epoch-ns UTC."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    interval_ns: int
    lot_size: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def ist_day(self) -> np.ndarray:
        """Return the IST calendar day of each bar as days since 1970-01-01."""
        return (self.ts + IST_OFFSET_NS) // DAY_NS

    @property
    def ist_minute(self) -> np.ndarray:
        """Return each bar's IST open time as minutes after midnight."""
        return (self.ts + IST_OFFSET_NS) % DAY_NS // MINUTE_NS

    @property
    def is_daily(self) -> bool:
        """Return True when bars are a day or longer."""
        return self.interval_ns >= DAY_NS

    @property
    def periods_per_year(self) -> float:
        """Return bars per year on NSE's 375-minute, 250-day year (weekly+ bars: calendar)."""
        if self.interval_ns >= 7 * DAY_NS:
            return 365.25 * DAY_NS / self.interval_ns
        if self.is_daily:
            return float(TRADING_DAYS_PER_YEAR)
        return TRADING_DAYS_PER_YEAR * SESSION_MINUTES * MINUTE_NS / self.interval_ns


def _ts_ns(ts: Any) -> np.ndarray:
    if hasattr(ts, "dtype") and str(getattr(ts, "dtype", "")).startswith("Datetime"):
        ts = ts.dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()  # polars
    arr = np.asarray(ts)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    raise TypeError(f"ts must be int64 epoch-ns UTC or datetime64, not {arr.dtype}")


def as_bars(bars: Any) -> Bars:
    """Return ``Bars`` from a mapping or DataFrame: ts, open, high, low, close[, volume, lot_size].

    Naive datetime64 values are taken as UTC; a polars tz-aware column is converted to UTC.
    ``lot_size`` (optional, per bar) is the contract lot size in force on that bar's date.
    """
    if isinstance(bars, Bars):
        return bars
    ts = _ts_ns(bars["ts"])
    cols = {
        k: np.ascontiguousarray(np.asarray(bars[k], dtype=np.float64))
        for k in ("open", "high", "low", "close")
    }
    names = bars.columns if hasattr(bars, "columns") else bars
    volume = (
        np.asarray(bars["volume"], dtype=np.float64) if "volume" in names else np.zeros(len(ts))
    )
    lot_size = np.asarray(bars["lot_size"], dtype=np.int64) if "lot_size" in names else None
    n = len(ts)
    if any(len(c) != n for c in cols.values()):
        raise ValueError("bar arrays differ in length")
    if any(np.isnan(c).any() for c in cols.values()):
        raise ValueError("bar prices contain NaN")
    if n > 1 and np.any(np.diff(ts) <= 0):
        raise ValueError("ts must be strictly increasing")
    return Bars(ts=ts, volume=volume, interval_ns=_interval(ts), lot_size=lot_size, **cols)


def _interval(ts: np.ndarray) -> int:
    """Return the bar interval: the most common gap between consecutive bars."""
    if len(ts) < 2:
        return DAY_NS
    gaps = np.diff(ts[: min(len(ts), 20_001)])
    values, counts = np.unique(gaps, return_counts=True)
    step = int(values[np.argmax(counts)])
    # daily bars: weekends and holidays make 3-day gaps, but the 1-day gap still wins
    return DAY_NS if DAY_NS <= step < 7 * DAY_NS else step

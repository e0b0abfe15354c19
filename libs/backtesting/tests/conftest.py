"""Fixtures: tiny handmade bar sets with IST timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

IST = timedelta(hours=5, minutes=30)


def _bars(rows, start="2025-01-06 09:15", step_minutes=1, times=None):
    """Build bars from (open, high, low, close) rows; times are IST 'YYYY-MM-DD HH:MM' strings."""
    if times is None:
        t0 = datetime.fromisoformat(start)
        times = [t0 + timedelta(minutes=step_minutes * i) for i in range(len(rows))]
    else:
        times = [datetime.fromisoformat(t) for t in times]
    ts = np.array([np.datetime64(t - IST, "ns") for t in times]).astype(np.int64)
    arr = np.array(rows, dtype=float)
    return {
        "ts": ts,
        "open": arr[:, 0],
        "high": arr[:, 1],
        "low": arr[:, 2],
        "close": arr[:, 3],
        "volume": np.ones(len(rows)),
    }


def _signals(n, *idx):
    out = np.zeros(n, dtype=bool)
    out[list(idx)] = True
    return out


@pytest.fixture
def make_bars():
    return _bars


@pytest.fixture
def sig():
    return _signals

"""The vectorised single-position path picks exactly the trades of the plain loop."""

from __future__ import annotations

import numpy as np
import pytest
from btengine.bars import as_bars
from btengine.engine import fill_paise
from btengine.selection import (
    StopScanner,
    common_exits,
    entry_fills,
    select_general,
    select_single,
)
from btengine.settings import Settings


def _random_bars(rng, n):
    day = np.repeat(np.arange(n // 30 + 1), 30)[:n]
    minute = np.tile(np.arange(30), n // 30 + 1)[:n]
    ts = ((day + 20000) * 86_400 + 9 * 3600 + 15 * 60 - 19_800 + (minute + 340) * 60) * 10**9
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    return as_bars({"ts": ts, "open": open_, "high": high, "low": low, "close": close})


@pytest.mark.parametrize("seed", range(12))
def test_single_position_fast_path_equals_the_loop(seed):
    rng = np.random.default_rng(seed)
    b = _random_bars(rng, 600)
    entries = rng.random(600) < rng.choice([0.05, 0.3, 0.8])
    exits = rng.random(600) < rng.choice([0.02, 0.1])
    s = Settings(
        direction=rng.choice(["long", "short"]),
        product=rng.choice(["delivery", "intraday"]),
        stop_loss_pct=float(rng.choice([0.5, 1, 3])),
        target_pct=float(rng.choice([1, 2, 5])),
        stops_from_next_bar=bool(rng.integers(2)),
        costs=False,
    )
    ef = entry_fills(b, entries, exits, s)
    ckey, creason = common_exits(b, exits, s, ef)
    scanner = StopScanner(b, s, fill_paise(b.open[ef], buy=s.sign > 0, s=s) / 100)
    fast = select_single(ef, ckey, creason, scanner, b)
    loop = select_general(ef, ckey, creason, scanner, b, 1)
    assert len(fast.entry_bar) > 0
    np.testing.assert_array_equal(fast.entry_bar, loop.entry_bar)
    np.testing.assert_array_equal(fast.exit_key, loop.exit_key)
    np.testing.assert_array_equal(fast.reason, loop.reason)
    np.testing.assert_allclose(fast.exit_raw, loop.exit_raw)
    # no overlapping positions, every exit after its entry
    assert np.all(fast.exit_key > 2 * fast.entry_bar)
    assert np.all(2 * fast.entry_bar[1:] >= fast.exit_key[:-1])

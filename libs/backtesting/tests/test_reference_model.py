"""The engine against a literal bar-by-bar reading of ARCHITECTURE.md §8 on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from btengine import Settings, run
from btengine.bars import as_bars
from btengine.engine import fill_paise
from btengine.selection import END, SIGNAL, SQUARE_OFF, STOP, TARGET


def reference(bars, entries, exits, s: Settings):
    """Walk the bars one at a time and apply §8 in order; return the trades as tuples."""
    b = as_bars(bars)
    n = len(b)
    day, minute = b.ist_day, b.ist_minute
    cutoff = s.square_off_time.hour * 60 + s.square_off_time.minute
    long = s.sign > 0
    open_pos: list[dict] = []
    trades = []

    def close(p, j, raw, reason):
        exit_paise = int(fill_paise(np.array([raw]), buy=not long, s=s)[0])
        trades.append((p["bar"], j, reason, p["paise"], exit_paise))

    def first_late(j):
        same = np.flatnonzero((day == day[j]) & (minute >= cutoff))
        return int(same[0]) if len(same) else None

    for j in range(n):
        o, h, lo, c = b.open[j], b.high[j], b.low[j], b.close[j]
        if j > 0 and exits[j - 1]:
            for p in open_pos:
                close(p, j, o, SIGNAL)
            open_pos = []
        if s.squares_off and first_late(j) == j:
            for p in open_pos:
                close(p, j, o, SQUARE_OFF)
            open_pos = []
        if j > 0 and entries[j - 1] and not exits[j - 1] and len(open_pos) < s.max_positions:
            ok = True
            if s.squares_off:
                ok = minute[j - 1] < cutoff and minute[j] < cutoff
                ok = ok and (b.is_daily or day[j] == day[j - 1])
            if ok:
                paise = int(fill_paise(np.array([o]), buy=long, s=s)[0])
                fill = paise / 100
                sl, tp = (s.stop_loss_pct or 0) / 100, (s.target_pct or 0) / 100
                if long:
                    stop = fill * (1 - sl) if sl else -np.inf
                    target = fill * (1 + tp) if tp else np.inf
                else:
                    stop = fill * (1 + sl) if sl else np.inf
                    target = fill * (1 - tp) if tp else -np.inf
                open_pos.append({"bar": j, "paise": paise, "stop": stop, "target": target})
        still = []
        for p in open_pos:
            if s.stops_from_next_bar and p["bar"] == j:
                still.append(p)
                continue
            st, tg = p["stop"], p["target"]
            if long:
                gap_stop, gap_target, in_stop, in_target = o <= st, o >= tg, lo <= st, h >= tg
            else:
                gap_stop, gap_target, in_stop, in_target = o >= st, o <= tg, h >= st, lo <= tg
            if gap_stop:
                close(p, j, o, STOP)
            elif gap_target:
                close(p, j, o, TARGET)
            elif in_stop:
                close(p, j, st, STOP)
            elif in_target:
                close(p, j, tg, TARGET)
            else:
                still.append(p)
        open_pos = still
        last_of_day = j == n - 1 or day[j + 1] != day[j]
        if s.squares_off and last_of_day and first_late(j) is None:
            for p in open_pos:
                close(p, j, c, SQUARE_OFF)
            open_pos = []
        if j == n - 1:
            for p in open_pos:
                close(p, j, c, END)
    return sorted(trades)


def _random_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 160))
    daily = rng.random() < 0.25
    if daily:
        ts = (np.arange(n) * 86_400 + 19_000 * 86_400 - 19_800) * 10**9
    else:
        per_day = int(rng.choice([10, 40]))
        d, m = np.divmod(np.arange(n), per_day)
        start = 555 + (375 - per_day) if rng.random() < 0.6 else 555  # often reach 15:15
        ts = ((d + 19_000) * 86_400 - 19_800 + (start + m) * 60) * 10**9
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.006, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    bars = {"ts": ts, "open": open_, "high": high, "low": low, "close": close}
    entries = rng.random(n) < rng.choice([0.1, 0.4])
    exits = rng.random(n) < rng.choice([0.03, 0.15])
    s = Settings(
        direction=str(rng.choice(["long", "short"])),
        product=str(rng.choice(["delivery", "intraday"])),
        max_positions=int(rng.choice([1, 1, 2, 3])),
        stop_loss_pct=float(rng.choice([0, 0.5, 1.5])),
        target_pct=float(rng.choice([0, 1, 3])),
        stops_from_next_bar=bool(rng.random() < 0.3),
        slippage_bps=float(rng.choice([0, 5])),
        costs=False,
    )
    return bars, entries, exits, s


@pytest.mark.parametrize("seed", range(60))
def test_engine_matches_the_bar_by_bar_reference(seed):
    bars, entries, exits, s = _random_case(seed)
    t = run(bars, entries, exits, s).trades
    ours = sorted(
        zip(
            t.entry_bar.tolist(),
            t.exit_bar.tolist(),
            t.reason.tolist(),
            t.entry_paise.tolist(),
            t.exit_paise.tolist(),
            strict=True,
        )
    )
    assert ours == reference(bars, entries, exits, s)

"""Benchmark the backtest engine against backtesting.py, vectorbt and a hand-written numpy loop.

Run from the repository root (not part of the test suite):

    UV_PROJECT_ENVIRONMENT=/work/venvs/engine uv run python bench/backtest/run.py [--bt-bars N]
        [--skip-peers] [--write]

Strategy: long one unit when sma(close, 10) crosses above sma(close, 30), exit when it crosses
below; next-bar-open fills; no costs; with and without a 2 % stop and 4 % target. Bars: a seeded
random walk of 1,000,000 one-minute bars on NSE session timestamps (09:15-15:29 IST, weekdays).
Peers run in bench/backtest/.venv-peers, which this script creates with uv when missing.
``--write`` records the results in bench/backtest/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from btengine import Settings, run
from btengine.bars import as_bars
from compare import check, closed_trades
from report import N_BARS, SEED, write_results

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".venv-peers"
IST_NS = 19_800 * 10**9


def make_bars(n: int = N_BARS, seed: int = SEED) -> dict[str, np.ndarray]:
    """Return a seeded random walk of n one-minute bars on NSE session timestamps."""
    rng = np.random.default_rng(seed)
    days = -(-n // 375)
    dates = np.busday_offset(np.datetime64("2015-01-01"), np.arange(days), roll="forward")
    day_ns = dates.astype("datetime64[ns]").astype(np.int64)
    minute_ns = (555 + np.arange(375)) * 60 * 10**9  # 09:15 IST + i minutes
    ts = (day_ns[:, None] + minute_ns[None, :] - IST_NS).ravel()[:n]
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    open_ = np.r_[1000.0, close[:-1]] * np.exp(rng.normal(0, 0.0002, n))
    wick = np.abs(rng.normal(0, 0.0006, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    # real NSE prices sit on a 0.05 tick; so do fills, and float peers then see the same levels
    open_, high, low, close = (np.round(x * 20) / 20 for x in (open_, high, low, close))
    return {
        "ts": ts,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": rng.integers(100, 10_000, n).astype(np.float64),
    }


def compute_signals(bars: dict[str, np.ndarray], fast: int = 10, slow: int = 30):
    """Return (entries, exits) for sma(fast) crosses above / below sma(slow).

    The hook for the rule library: replace this body with a parse of
    ``sma(close, 10) crosses above sma(close, 30)`` / ``crosses below`` evaluated by
    libs/strategy's vectorised evaluator; everything else in this script stays the same.
    (Its float SMAs may break exact ties differently from peers.py: check the trade lists.)
    """
    # exact integer sums of 0.05 ticks: ties between the averages are common on tick data
    # and must be decided the same way as in peers.py, not by float rounding
    close = np.asarray(bars.close if hasattr(bars, "close") else bars["close"])
    ticks = np.rint(close * 20).astype(np.int64)
    c = np.cumsum(np.r_[np.int64(0), ticks])
    n = len(close)
    above = np.zeros(n, dtype=bool)
    top = c[slow:]  # sums up to bar t = slow-1 .. n-1
    above[slow - 1 :] = slow * (top - c[slow - fast : n + 1 - fast]) > fast * (
        top - c[: n + 1 - slow]
    )
    cross_up = np.zeros(n, dtype=bool)
    cross_down = np.zeros(n, dtype=bool)
    # bar slow is the first whose previous bar also has both averages
    cross_up[slow:] = above[slow:] & ~above[slow - 1 : -1]
    cross_down[slow:] = ~above[slow:] & above[slow - 1 : -1]
    return cross_up, cross_down


def backtest(bars, settings: Settings, fast: int = 10, slow: int = 30):
    """Run the whole backtest: signals, trades with stops, costs, metrics."""
    entries, exits = compute_signals(bars, fast, slow)
    return run(bars, entries, exits, settings)


def timed(fn, repeat: int = 15):
    """Return (best, median, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


def ensure_peers_venv() -> Path:
    """Create bench/backtest/.venv-peers with backtesting.py and vectorbt when missing."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "--python", "3.11", str(PEERS_VENV)], check=True)
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--python",
                str(python),
                "backtesting",
                "vectorbt",
                "pandas",
                "numpy",
            ],
            check=True,
        )
    return python


CASES = {
    "plain": Settings(costs=False),
    "stops": Settings(costs=False, stop_loss_pct=2, target_pct=4),
    "stops_deferred": Settings(
        costs=False, stop_loss_pct=2, target_pct=4, stops_from_next_bar=True
    ),
    "tight_deferred": Settings(
        costs=False, stop_loss_pct=0.2, target_pct=0.4, stops_from_next_bar=True
    ),
    "tight": Settings(costs=False, stop_loss_pct=0.2, target_pct=0.4),
    "stops_costs_intraday": Settings(
        stop_loss_pct=2, target_pct=4, product="intraday", quantity=100
    ),
}


def main() -> None:
    """Time engine, sweep and peers; compare trade lists; with --write record RESULTS.md."""
    args = sys.argv[1:]
    bt_bars = int(args[args.index("--bt-bars") + 1]) if "--bt-bars" in args else N_BARS
    t0 = time.perf_counter()
    bars = make_bars()
    print(f"bars: {len(bars['ts']):,} in {time.perf_counter() - t0:.2f} s", flush=True)
    rows, ours, reasons = [], {}, {}
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    backtest(bars, CASES["plain"])  # warm imports and caches
    for name, settings in CASES.items():
        best, median, result = timed(lambda s=settings: backtest(bars, s))
        ours[name] = closed_trades(result)
        reasons[name] = result.trades.reason[result.trades.reason != 4]
        counts = np.bincount(result.trades.reason, minlength=5)
        rows.append(
            (
                f"engine ({name})",
                best,
                median,
                result.metrics["total_trades"],
                f"{counts[1]} / {counts[2]} / {counts[3]}",
            )
        )
        print(
            f"  engine {name}: best {best:.3f} s, median {median:.3f} s, "
            f"{result.metrics['total_trades']} trades",
            flush=True,
        )
    grid = [(f, s) for f in range(5, 15) for s in range(20, 120, 10)]
    t0 = time.perf_counter()
    prepared = as_bars(bars)  # a sweep converts the bars once
    for f, s in grid:
        backtest(prepared, CASES["stops"], f, s)
    sweep = time.perf_counter() - t0
    print(f"  sweep of {len(grid)}: {sweep:.2f} s", flush=True)

    peers: dict = {}
    checks: list[str] = []
    if "--skip-peers" not in args:
        peers, checks = run_peers(bars, ours, reasons, bt_bars)
    if "--write" in args:
        write_results(rows, sweep, len(grid), peers, checks, bt_bars, load_start)


SYNTHETIC_PAIRS = [
    ("numpy_loop_plain", "plain"),
    ("numpy_loop_stops", "stops"),
    ("numpy_loop_stops_deferred", "stops_deferred"),
    ("vectorbt_plain", "plain"),
    ("vectorbt_stops", "stops_deferred"),
    ("backtesting_py_plain", "plain"),
    ("backtesting_py_stops", "stops_deferred"),
    ("numpy_loop_tight", "tight"),
    ("numpy_loop_tight_deferred", "tight_deferred"),
    ("vectorbt_tight", "tight_deferred"),
    ("backtesting_py_tight", "tight_deferred"),
]
REAL_PAIRS = [
    ("numpy_loop_plain", "plain"),
    ("vectorbt_plain", "plain"),
    ("backtesting_py_plain", "plain"),
    ("numpy_loop_stops", "stops"),
    ("numpy_loop_deferred_stops", "stops_deferred"),
    ("vectorbt_stops", "stops_deferred"),
    ("backtesting_py_stops", "stops_deferred"),
]
REAL_DATA = Path(__file__).resolve().parents[2] / "data" / "ohlc"
REAL_FILES = ("NSE_EQ-RELIANCE-1d", "IDX-NIFTY50-1m")


def run_peers(bars, ours, reasons, bt_bars) -> tuple[dict, list[str]]:
    """Run peers.py in its venv on the same bars; return its timings and the comparisons."""
    python = ensure_peers_venv()
    checks: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "bars.npz", **bars)
        real = {}
        for name in REAL_FILES:
            if (REAL_DATA / f"{name}.parquet").exists():
                real[name] = real_bars(REAL_DATA / f"{name}.parquet")
                np.savez(Path(tmp) / f"real-{name}.npz", **real[name])
        cmd = [str(python), str(HERE / "peers.py"), str(Path(tmp) / "bars.npz"), tmp]
        subprocess.run([*cmd, "--bt-bars", str(bt_bars)], check=True)
        peers = json.loads((Path(tmp) / "timings.json").read_text())
        for peer, case in SYNTHETIC_PAIRS:
            limit = bt_bars if peer.startswith("backtesting_py") else None
            checks.append(
                check(
                    Path(tmp) / f"{peer}.npy",
                    "synthetic",
                    peer,
                    case,
                    ours[case],
                    reasons[case],
                    bars,
                    limit,
                )
            )
        for name, rbars in real.items():
            for peer, case in REAL_PAIRS:
                result = backtest(rbars, CASES[case])
                mine = closed_trades(result)
                why = result.trades.reason[result.trades.reason != 4]
                checks.append(
                    check(
                        Path(tmp) / f"real-{name}__{peer}.npy",
                        name,
                        peer,
                        case,
                        mine,
                        why,
                        rbars,
                        None,
                    )
                )
    for line in checks:
        print("  " + line, flush=True)
    return peers, checks


def real_bars(path: Path) -> dict[str, np.ndarray]:
    """Return bars of a data/ohlc Parquet file as plain arrays (ts epoch-ns UTC)."""
    b = as_bars(pl.read_parquet(path))
    return {k: getattr(b, k) for k in ("ts", "open", "high", "low", "close", "volume")}


if __name__ == "__main__":
    main()

"""Peer backtests of the benchmark strategy, run inside bench/backtest/.venv-peers.

Usage (run.py calls this): peers.py BARS.npz OUT_DIR [--bt-bars N]

Same bars and semantics as the engine run in run.py: SMA(10)/SMA(30) crossover, long only,
one unit, next-bar-open fills, no costs; optional stop / target of the entry fill (2 %/4 %,
and a tight 0.2 %/0.4 % case that makes stops and targets fire often).
backtesting.py and vectorbt can only arm stops from the bar after the entry, so they are
compared with the engine's ``stops_from_next_bar=True``; the hand-written numpy loop does both.
Writes OUT_DIR/<peer>_<case>.npy (entry/exit bar and price of closed trades) and timings.json;
for every OUT_DIR/real-<name>.npz (real NSE bars) also OUT_DIR/real-<name>__<peer>_<case>.npy.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

FAST, SLOW = 10, 30
CASES = {"plain": None, "stops": (0.02, 0.04), "tight": (0.002, 0.004)}


def crossover_signals(close: np.ndarray, fast: int = FAST, slow: int = SLOW):
    """Return (entries, exits): sma(fast) crosses above / below sma(slow), exactly.

    The bars sit on a 0.05 tick, so sums of prices in ticks are exact integers and
    ``sma_fast > sma_slow`` is decided without float rounding (ties are common on tick
    data, and float SMAs from different libraries would break them differently).
    """
    ticks = np.rint(close * 20).astype(np.int64)
    c = np.cumsum(np.r_[np.int64(0), ticks])
    n = len(close)
    diff = np.zeros(n, dtype=np.int64)
    t = np.arange(slow - 1, n)
    diff[t] = slow * (c[t + 1] - c[t + 1 - fast]) - fast * (c[t + 1] - c[t + 1 - slow])
    above = diff > 0
    valid = np.arange(n) >= slow  # both this bar and the previous one have both averages
    prev = np.r_[False, above[:-1]]
    return above & ~prev & valid, ~above & prev & valid


def numpy_loop(o, h, lo, c, stops: tuple[float, float] | None, defer: bool):
    """Hand-written reference: vectorised signals, a Python loop over trades."""
    entries, exits = crossover_signals(c)
    ent = np.flatnonzero(entries[:-1]) + 1
    ext = np.flatnonzero(exits[:-1]) + 1
    n = len(c)
    rows = []
    i = 0
    while i < len(ent):
        e = ent[i]
        price = o[e]
        k = np.searchsorted(ext, e, side="right")
        x = ext[k] if k < len(ext) else -1
        end = x if x >= 0 else n
        exit_bar, exit_price, closed = x, (o[x] if x >= 0 else c[-1]), x >= 0
        if stops:
            stop, target = price * (1 - stops[0]), price * (1 + stops[1])
            s0 = e + (1 if defer else 0)
            hit = (lo[s0:end] <= stop) | (h[s0:end] >= target)
            j = int(np.argmax(hit)) if hit.size else 0
            if hit.size and hit[j]:
                j += s0
                op = o[j]
                if op <= stop or op >= target:
                    exit_price = op
                else:
                    exit_price = stop if lo[j] <= stop else target
                exit_bar, closed = j, True
                rows.append((e, exit_bar, price, exit_price))
                i = np.searchsorted(ent, j, side="right")
                continue
        if closed:
            rows.append((e, exit_bar, price, exit_price))
        i = np.searchsorted(ent, end, side="left")
    return np.array(rows).reshape(-1, 4)


def run_vectorbt(df, stops: tuple[float, float] | None):
    """Run the strategy in vectorbt; return its closed trades."""
    import vectorbt as vbt

    entries, exits = crossover_signals(df["Close"].to_numpy())
    # vectorbt fills at `price` on the signal's own bar: shift signals one bar, price = open
    ent = np.r_[False, entries[:-1]]
    ext = np.r_[False, exits[:-1]]
    kwargs = {}
    if stops:
        kwargs = {"sl_stop": stops[0], "tp_stop": stops[1], "stop_entry_price": "FillPrice"}
    pf = vbt.Portfolio.from_signals(
        close=df["Close"],
        open=df["Open"],
        high=df["High"],
        low=df["Low"],
        entries=ent,
        exits=ext,
        price=df["Open"],
        size=1.0,
        init_cash=1e9,
        fees=0.0,
        accumulate=False,
        **kwargs,
    )
    pf.stats(silence_warnings=True)
    r = pf.trades.records
    closed = r[r["status"] == 1]
    return np.column_stack(
        [closed["entry_idx"], closed["exit_idx"], closed["entry_price"], closed["exit_price"]]
    )


def run_backtesting_py(df, stops: tuple[float, float] | None):
    """Run the strategy in backtesting.py; return its closed trades."""
    from backtesting import Backtest, Strategy

    entries, exits = crossover_signals(df["Close"].to_numpy())

    class SmaCross(Strategy):
        def init(self):
            # the same exact crossover as the other peers (backtesting.lib.crossover uses
            # float SMAs and a strict previous-bar test, which differ on tick-data ties)
            self.entry = self.I(lambda: entries, name="entry", plot=False)
            self.exit = self.I(lambda: exits, name="exit", plot=False)

        def next(self):
            if stops:
                for t in self.trades:  # arm stops once the entry fill is known
                    if t.sl is None:
                        t.sl = t.entry_price * (1 - stops[0])
                        t.tp = t.entry_price * (1 + stops[1])
            if self.entry[-1]:
                if not self.position:
                    self.buy(size=1)
            elif self.exit[-1]:
                self.position.close()

    bt = Backtest(df, SmaCross, cash=1e9, commission=0.0, trade_on_close=False)
    stats = bt.run()
    t = stats._trades
    return t[["EntryBar", "ExitBar", "EntryPrice", "ExitPrice"]].to_numpy(dtype=float)


def load(path: Path):
    """Return open, high, low, close arrays and a backtesting.py-style DataFrame."""
    import pandas as pd

    z = np.load(path)
    o, h, lo, c, ts = z["open"], z["high"], z["low"], z["close"], z["ts"]
    df = pd.DataFrame(
        {"Open": o, "High": h, "Low": lo, "Close": c, "Volume": np.ones(len(c))},
        index=pd.to_datetime(ts, utc=True).tz_convert("Asia/Kolkata").tz_localize(None),
    )
    return o, h, lo, c, df


def real_data(out: Path) -> None:
    """Trade lists (untimed) on the real bars that run.py wrote as real-<name>.npz."""
    for path in sorted(out.glob("real-*.npz")):
        o, h, lo, c, df = load(path)
        for case in ("plain", "stops"):
            stops = CASES[case]
            runs = [
                ("numpy_loop", numpy_loop, (o, h, lo, c, stops, False)),
                ("numpy_loop_deferred", numpy_loop, (o, h, lo, c, stops, True)),
                ("vectorbt", run_vectorbt, (df, stops)),
                ("backtesting_py", run_backtesting_py, (df, stops)),
            ]
            for peer, fn, fn_args in runs:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    np.save(out / f"{path.stem}__{peer}_{case}.npy", fn(*fn_args))
        print(f"  {path.stem}: peer trade lists written", flush=True)


def main() -> None:
    """Time every peer on the synthetic bars and write trade lists."""
    import pandas as pd

    bars_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    bt_bars = int(sys.argv[sys.argv.index("--bt-bars") + 1]) if "--bt-bars" in sys.argv else 0
    o, h, lo, c, df = load(bars_path)
    timings: dict[str, float] = {}

    def timed(name, fn, *args, repeat=1):
        """Record the best time of ``repeat`` calls and save the trade list."""
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = fn(*args)
            best = min(best, time.perf_counter() - t0)
        timings[name] = best
        np.save(out / f"{name}.npy", res)
        print(f"  {name}: {best:.3f} s, {len(res)} closed trades", flush=True)

    for case, stops in CASES.items():
        timed(f"numpy_loop_{case}", numpy_loop, o, h, lo, c, stops, False, repeat=5)
        if stops:
            timed(f"numpy_loop_{case}_deferred", numpy_loop, o, h, lo, c, stops, True, repeat=5)
        t0 = time.perf_counter()
        run_vectorbt(df.iloc[:2000], stops)  # numba compilation, not part of the timing
        timings[f"vectorbt_compile_{case}"] = time.perf_counter() - t0
        timed(f"vectorbt_{case}", run_vectorbt, df, stops, repeat=3)
        if bt_bars:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timed(f"backtesting_py_{case}", run_backtesting_py, df.iloc[:bt_bars], stops)
    real_data(out)
    import backtesting
    import vectorbt

    timings["versions"] = {  # type: ignore[assignment]
        "backtesting": backtesting.__version__,
        "vectorbt": vectorbt.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": sys.version.split()[0],
    }
    (out / "timings.json").write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    main()

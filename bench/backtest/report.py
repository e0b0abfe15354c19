"""Write bench/backtest/RESULTS.md (used by run.py)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import btengine
import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
N_BARS = 1_000_000
SEED = 20240601


def machine() -> dict[str, str]:
    """Return the machine facts recorded with the results."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], check=True, capture_output=True, text=True).stdout.strip()
    return {
        "nproc": nproc,
        "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


NOTES = """## Notes

- Aligned semantics: long one unit, fills at the next bar's open, no costs, trades still open
  at the end of the data left out (backtesting.py and vectorbt do not close them). Every
  peer uses the same exact crossover signals (`peers.py`), so differences are execution.
- Our fills are whole paise; the bars sit on the 0.05 tick, so entries match exactly and
  stop/target exits differ from float engines by under half a paisa.
- backtesting.py and vectorbt arm a stop only after the entry bar, so they are compared with
  `stops_from_next_bar=True`; the hand-written numpy loop is compared with both modes.
- vectorbt, tight case: when an exit signal fills at a bar's open and a stop or target lies
  inside that same bar, vectorbt takes the stop/target; §8 (and backtesting.py, and the numpy
  loop) exit at the open, which happens first. The row counts those trades; all other trades
  match. With 2 %/4 % levels the situation does not arise on these bars.
- vectorbt's first call compiles with numba (the `vectorbt_compile_*` rows); its timed rows
  are warm. The sweep runs signals + backtest for 10 fast × 10 slow SMA lengths in one process.
"""


def write_results(rows, sweep, n_grid, peers, checks, bt_bars, load_start) -> None:
    """Write RESULTS.md from the timings and trade-list checks of one run."""
    m = machine()
    versions = peers.pop("versions", {})
    lines = [
        "# Backtest benchmark results",
        "",
        "Recorded by `bench/backtest/run.py --write` (see its docstring for the strategy, bars",
        "and semantics). Times are wall-clock seconds of the whole backtest: signals (exact",
        "integer SMA crossover on the 0.05 tick, numpy) → trades with stop/target → costs →",
        "metrics (`btengine.run`); engine rows are best and median of 15 runs, peers best of",
        "3-5 (backtesting.py: one run) over the same span: signals + backtest + stats.",
        "",
        f"- Date: {m['date']}",
        f"- Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}",
        f"- Load average (1, 5, 15 min) at the start {load_start}, at the end {m['load']}: other",
        "  work shares this 2-core machine; under load every row here slows down 2-4x alike.",
        f"- Engine: python {m['python']}, numpy {np.__version__}, polars {pl.__version__}, "
        + f"{btengine.__name__} from libs/backtesting (at-backtesting)",
        f"- Peers: {', '.join(f'{k} {v}' for k, v in versions.items())}",
        f"- Bars: {N_BARS:,} one-minute bars, seed {SEED}; backtesting.py on the first {bt_bars:,}",
        "",
        "Cases: `plain` no stops; `stops` 2 % stop / 4 % target armed on the entry bar (§8",
        "default); `*_deferred` armed from the next bar (`stops_from_next_bar`, how",
        "backtesting.py and vectorbt work); `tight` 0.2 %/0.4 % so that stops fire often;",
        "`stops_costs_intraday` 100 shares, intraday product (15:15 square-off) with Dhan",
        "brokerage and statutory charges.",
        "",
        "| run | best s | median s | trades | stop / target / square-off exits |",
        "|---|---|---|---|---|",
        *[f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]} | {r[4]} |" for r in rows],
        f"| engine sweep, {n_grid} (fast, slow) combos with 2 %/4 % stops | {sweep:.2f} | | | |",
        "",
        "| peer | best s | note |",
        "|---|---|---|",
    ]
    for name, secs in peers.items():
        note = (
            "first call (numba compilation) on 2,000 bars; not in the timed rows"
            if ("compile" in name)
            else ""
        )
        lines.append(f"| {name} | {secs:.3f} | {note} |")
    lines += [
        "",
        "## Trade lists (closed trades: entry/exit bar and price)",
        "",
        "`synthetic` is the timed 1,000,000-bar walk; the real NSE files of data/ohlc are",
        "compared untimed (signals from closes rounded to the 0.05 tick, as for every peer).",
        "",
        "| bars | peer | engine case | result |",
        "|---|---|---|---|",
        *checks,
        "",
        NOTES,
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines))

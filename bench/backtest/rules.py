"""The whole backtest through the rule language: text -> parse -> indicators -> signals -> engine.

Same 1,000,000 bars as run.py. Times the full path with libs/strategy's vectorised evaluator
(`sma(close, 10) crosses above sma(close, 30)` / `crosses below`), with and without a 2 %
stop and 4 % target, and checks its signals against run.py's exact integer crossover (float
SMAs may decide an exact tie differently; the count of differing bars is reported).

Usage: uv run python bench/backtest/rules.py   (appends a section to RESULTS.md)
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from btengine import Settings, run

sys.path.insert(0, str(Path(__file__).parent))
from run import compute_signals, make_bars, timed  # noqa: E402
from strategy import parse  # noqa: E402
from strategy.vectorized import signals  # noqa: E402

ENTRY = "sma(close, 10) crosses above sma(close, 30)"
EXIT = "sma(close, 10) crosses below sma(close, 30)"


def frame(bars: dict[str, np.ndarray]) -> pl.DataFrame:
    """Return the bars as the polars frame the evaluator reads."""
    return pl.DataFrame({
        "ts": pl.Series(bars["ts"]).cast(pl.Datetime("ns", "UTC")),
        **{k: bars[k] for k in ("open", "high", "low", "close", "volume")},
    })


def full(bars: dict, df: pl.DataFrame, settings: Settings):
    """Run everything from rule text to metrics."""
    entry, exit_ = parse(ENTRY), parse(EXIT)
    en, ex = signals(entry, exit_, df)
    return run(bars, en.to_numpy(), ex.to_numpy(), settings)


def main() -> None:
    """Time the rule-language path and append the figures to RESULTS.md."""
    bars = make_bars()
    df = frame(bars)
    plain = Settings(quantity=1, costs=False)
    stops = Settings(quantity=1, costs=False, stop_loss_pct=2.0, target_pct=4.0)
    rows = []
    for name, settings in (("plain", plain), ("2% stop / 4% target", stops)):
        best, median, result = timed(lambda s=settings: full(bars, df, s), repeat=7)
        rows.append((name, best, median, result.metrics["total_trades"]))
    en, ex = signals(parse(ENTRY), parse(EXIT), df)
    ref_en, ref_ex = compute_signals(bars)
    diff = int((en.to_numpy() != ref_en).sum() + (ex.to_numpy() != ref_ex).sum())
    load = os.getloadavg()[0]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "", f"## Rule language end to end ({when}, load {load:.1f}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()})", "",
        f"Rule text `{ENTRY}` / `{EXIT}` parsed, evaluated by libs/strategy (polars), traded by "
        "btengine, metrics computed; 1,000,000 one-minute bars.", "",
        "| case | best s | median s | trades |", "|---|---:|---:|---:|",
        *[f"| {n} | {b:.3f} | {m:.3f} | {t} |" for n, b, m, t in rows], "",
        f"Signals differing from run.py's exact integer crossover: {diff} bars "
        "(float averages deciding exact ties).", "",
    ]
    print("\n".join(lines))
    with (Path(__file__).parent / "RESULTS.md").open("a") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()

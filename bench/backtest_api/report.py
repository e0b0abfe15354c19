"""Write bench/backtest_api/RESULTS.md: machine, date, timings per case."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """Describe the CPU, core count, memory and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True,
                           check=False).stdout.strip() or str(os.cpu_count())
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {cores} cores (nproc){mem}, Python {platform.python_version()}, {platform.system()}"


def write_results(rows: list[dict]) -> None:
    """Record the timings with machine and date."""
    lines = [
        "# Backtest through the API: queued job -> stored results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        "- Load average (1/5/15 min) when written: " + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (the machine is shared; timings stretch with load)",
        "- Command: `UV_PROJECT_ENVIRONMENT=/work/venvs/backtest uv run python bench/backtest_api/run.py --write`",
        "- Setup: embedded NATS (JetStream) and Postgres (fsync off), the backtest service in-process",
        "  (`build_app`, one worker); history from a generated Parquet file of 1,000,000 one-minute",
        "  bars (seeded random walk, NSE session times) through `ParquetHistory`, not marketdata.",
        "- Rule: `sma(close, 10) crosses above sma(close, 30)` / `crosses below`; one unit,",
        "  delivery, costs off; each case once to warm up, then timed.",
        "- Timed: from sending `svc.backtest.backtest.create` until `evt.<user>.backtest.completed`",
        "  arrives (outbox -> JOBS -> worker -> history -> signals -> engine -> metrics/analytics ->",
        "  one transaction with trades, curve, status -> outbox -> event). Target < 3 s.",
        "",
        "| case | bars | trades | median s | min s | max s | runs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['case']} | {r['bars']:,} | {r['trades']:,} | {r['median']:.3f} | "
                     f"{r['min']:.3f} | {r['max']:.3f} | {r['runs']} |")
    lines += ["", "Median seconds per worker stage (the rest of the total is queueing, the outbox",
              "relay, progress events and the completed event's trip back):", "",
              "| case | " + " | ".join(rows[0]["stages"]) + " |",
              "|---|" + "---:|" * len(rows[0]["stages"])]
    for r in rows:
        lines.append(f"| {r['case']} | " + " | ".join(f"{v:.3f}" for v in r["stages"].values()) + " |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")

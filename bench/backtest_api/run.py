"""Benchmark a backtest through the API: queued job -> stored results (issue 5 §4, target < 3 s).

Run from the repository root (not part of the test suite):

    UV_PROJECT_ENVIRONMENT=/work/venvs/backtest uv run python bench/backtest_api/run.py [--write]

Starts an embedded NATS server and Postgres (svckit.infra), the backtest service in-process
(`build_app`, one worker), writes 1,000,000 one-minute bars (a seeded random walk on NSE session
timestamps) to a Parquet file and serves them through `ParquetHistory` (the marketdata service
is not part of this measurement). For `sma(close, 10) crosses above sma(close, 30)` / `crosses
below`, with and without a 2 % stop and 4 % target, it times the request that queues the
backtest until the `evt.<user>.backtest.completed` event arrives: outbox -> JOBS -> worker ->
history read -> rule parse, indicators, signals -> engine -> metrics and analytics -> one
transaction storing trades, curve and status -> outbox -> event. ``--write`` records RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nats
import numpy as np
import orjson
import polars as pl
from backtest.app import build_app
from backtest.history import ParquetHistory
from backtest.testing import make_settings
from contracts import backtest as C
from contracts import headers as h
from report import write_results
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import create_database, create_service_role
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.nats import request

N_BARS = 1_000_000
SEED = 20240601
IST_NS = 19_800 * 10**9
USER = "bench"
CASES = {"no stop/target": {}, "2 % stop, 4 % target": {"stopLossPct": "2", "targetPct": "4"}}


def make_bars(path: Path, n: int = N_BARS, seed: int = SEED) -> None:
    """Write a seeded random walk of n one-minute bars on NSE session timestamps."""
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
    open_, high, low, close = (np.round(x * 20) / 20 for x in (open_, high, low, close))
    pl.DataFrame({
        "ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")), "open": open_, "high": high,
        "low": low, "close": close, "volume": rng.integers(100, 10_000, n),
    }).write_parquet(path)


async def one_run(nc, sid: str, first: str, last: str, done: dict) -> tuple[float, dict]:
    """Queue one backtest and wait for its completed event; return seconds and the reply."""
    hdrs = {h.USER_ID: USER}
    t0 = time.perf_counter()
    queued = await request(nc, C.CREATE_BACKTEST, {"strategyId": sid, "fromDate": first,
                                                   "toDate": last, "costs": False}, headers=hdrs)
    fut = done.setdefault(queued["id"], asyncio.get_running_loop().create_future())
    await asyncio.wait_for(fut, 60)
    elapsed = time.perf_counter() - t0
    res = await request(nc, C.BACKTEST_RESULTS, {"id": queued["id"], "pageSize": 1}, headers=hdrs)
    return elapsed, res


async def bench(work: Path, repeat: int) -> list[dict]:
    """Run every case `repeat` times against a live service; return one row per case."""
    data = work / "bars"
    data.mkdir()
    make_bars(data / "NSE_EQ-SYNTH-1m.parquet")
    with start_nats(work / "nats") as ns, start_postgres(work / "pg", durable=False) as pg:
        db = await create_database(pg.url, "bench")
        dsn = await create_service_role(pg.url, "bench", "backtest")
        del db
        settings = make_settings(ns.url, dsn, workers=1, job_ack_wait_s=30.0, log_level="WARNING")
        async with build_app(settings, ParquetHistory(data)) as rt:
            nc = await nats.connect(ns.url)
            done: dict[str, asyncio.Future] = {}

            async def on_done(msg) -> None:
                bid = orjson.loads(msg.data)["backtestId"]
                fut = done.setdefault(bid, asyncio.get_running_loop().create_future())
                if not fut.done():
                    fut.set_result(True)

            await nc.subscribe(f"evt.{USER}.backtest.completed", cb=on_done)
            bars = pl.read_parquet(data / "NSE_EQ-SYNTH-1m.parquet", columns=["ts"])
            first = str(bars["ts"].min().date())
            last = str(bars["ts"].max().date())
            rows = []
            for case, extra in CASES.items():
                body = {"name": case, "instrument": {"segment": "NSE_EQ", "securityId": "1",
                                                     "symbol": "SYNTH"},
                        "timeframe": "1m", "entryRule": "sma(close, 10) crosses above sma(close, 30)",
                        "exitRule": "sma(close, 10) crosses below sma(close, 30)", **extra}
                made = await request(nc, C.CREATE_STRATEGY, body, headers={h.USER_ID: USER})
                await one_run(nc, made["id"], first, last, done)  # warm-up (imports, caches)
                times, res, stages = [], None, []
                for _ in range(repeat):
                    elapsed, res = await one_run(nc, made["id"], first, last, done)
                    times.append(elapsed)
                    stages.append(dict(rt.services.worker.last_stages))
                rows.append({"case": case, "bars": res["bars"],
                             "trades": res["metrics"]["totalTrades"],
                             "median": statistics.median(times), "min": min(times),
                             "max": max(times), "runs": repeat,
                             "stages": {k: statistics.median(s[k] for s in stages) for k in stages[0]}})
                print(f"{case}: {res['bars']:,} bars, {res['metrics']['totalTrades']:,} trades, "
                      f"median {statistics.median(times):.3f} s (min {min(times):.3f}, "
                      f"max {max(times):.3f}, {repeat} runs)")
            await nc.drain()
    return rows


def main() -> None:
    """Parse arguments, run the benchmark, optionally record RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="record bench/backtest_api/RESULTS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bt-api-bench-"))
    try:
        rows = asyncio.run(bench(work, args.repeat))
    finally:
        remove_cluster(work / "pg")
        shutil.rmtree(work, ignore_errors=True)
    if args.write:
        write_results(rows)


if __name__ == "__main__":
    main()

"""Execution benchmark: bar close -> order intent and tick -> stop-loss exit latency.

`uv run python bench/execution/run.py [--sizes 1,100,1000] [--scenario burst|session]`

Starts an embedded NATS (JetStream) and Postgres, runs the real execution service
(`execution.app.build_app`) in this process and inserts N active deployments (one paper
account each, spread over up to 50 instruments, `close crosses above 100`, each with five open
positions whose stops sit at 98.50 / 98.00 / 97.50 / 97.00 / 96.50). Then:

- bars: every instrument's 1-minute bar is published to MD_BARS at the same minute close
  (what marketdata does), alternating 99 / 101, so every deployment fires on every up bar;
  latency = from publishing the instrument's bar to its intent arriving on `ord.intent.*`
  (evaluation, risk checks, one Postgres transaction for the intents, logs, events and the
  state of every deployment of that instrument, then the publish);
- ticks: one tick per instrument below the next stop; latency = from publishing the tick to
  the stop-loss intent arriving.

p50/p99 over all intents of all rounds. The worst case on purpose: all N deployments fire on
the same bar or tick (`--scenario burst`, the default).

`--scenario session` is a trading hour instead: 50 instruments carry real 1-minute NSE bars
(`data/ohlc`: five stocks on ten days each, all published at the same minute close, as
marketdata does), and deployment i trades instrument i % 50 with `close crosses above
sma(n)` / `close crosses below sma(n)`, n = 5 + i // 50 % 20. After 45 warm-up minutes
(09:15-09:59 IST, not measured) the next 60 minutes are measured: every deployment is
evaluated on every bar and its state stored, and those whose rule fires send an entry intent
(no broker fills them, so each up-cross is a new entry). Latency as above, from the
instrument's bar to each intent it caused; the next minute starts once the last one arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
import numpy as np
import polars as pl
from contracts import streams, subjects
from contracts.events.base import encode
from contracts.events.marketdata import Bar, Tick
from contracts.events.orders import OrderIntent
from execution.app import build_app
from execution.settings import ExecutionSettings
from svckit.clock import FixedClock
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import create_database, create_service_role
from svckit.infra.postgres import start_postgres
from svckit.jetstream import ensure_stream
from svckit.logging import configure_logging

DAY = datetime(2025, 7, 24, 3, 45, tzinfo=UTC)
STOPS = (9_850, 9_800, 9_750, 9_700, 9_650)
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "ohlc"
STOCKS = ("RELIANCE", "TCS", "ICICIBANK", "BHARTIARTL", "BAJAJ-AUTO")
WARMUP, MEASURED = 45, 60


def _bar(sid: str, minute: int, price: float) -> Bar:
    start = DAY + timedelta(minutes=minute)
    p = int(price * 100)
    return Bar(event_id=f"b{sid}-{minute}", ts_event=start, ts_init=start, interval="1m",
               segment="NSE_EQ", security_id=sid, start=start, end=start + timedelta(minutes=1),
               open=p, high=p + 10, low=p - 10, close=p)


async def _seed(pool, n: int, n_instr: int, session: bool = False) -> None:
    rows, trades = [], []
    for i in range(n):
        dep = uuid.uuid4()
        sma = 5 + i // 50 % 20
        entry, exit_ = (f"close crosses above sma({sma})", f"close crosses below sma({sma})") \
            if session else ("close crosses above 100", "close < 0")
        rows.append((dep, f"user{i % 100}", f"s{i}", f"acct{i}", str(1000 + i % n_instr),
                     entry, exit_))
        if session:
            continue
        for k, stop in enumerate(STOPS):
            trades.append((f"t{i}-{k}", dep, f"user{i % 100}", f"s{i}", f"acct{i}",
                           str(1000 + i % n_instr), stop))
    # one transaction: the engine claims deployments as soon as they are visible, and one
    # claimed before its trades were written would run without them
    async with pool.acquire() as conn, conn.transaction():
        await _insert(conn, rows, trades)


async def _insert(conn, rows: list, trades: list) -> None:
    await conn.executemany(
        "INSERT INTO deployments (id, user_id, strategy_id, strategy_version, strategy_version_id,"
        " name, account_id, broker, segment, security_id, symbol, timeframe, entry_rule, exit_rule,"
        " direction, product, quantity, max_positions, status, deployed_at) VALUES ($1, $2, $3, 1,"
        " 'v1', 'bench', $4, 'paper', 'NSE_EQ', $5, 'X', '1m', $6, $7, 'long', 'INTRADAY', 1,"
        " 100000, 'active', now())", rows)
    if trades:
        await conn.executemany(
            "INSERT INTO trades (id, deployment_id, user_id, strategy_id, account_id, segment,"
            " security_id, symbol, direction, quantity, entry_intent_id, entry_price_paise,"
            " entry_time, stop_paise, status) VALUES ($1, $2, $3, $4, $5, 'NSE_EQ', $6, 'X',"
            " 'long', 1, $1, 10000, now(), $7, 'open')", trades)


async def _case(nats_url: str, dsn: str, n: int, rounds: int) -> dict:
    n_instr = min(n, 50)
    settings = ExecutionSettings(nats_url=nats_url, database_url=dsn, instance_id="bench",
                                 heartbeat_s=0.5, claim_batch=n, use_calendar=False,
                                 reconcile=False, stale_bar_s=1e9, db_pool_max=10,
                                 environment="test", log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    clock = FixedClock(DAY)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.MD_BARS)
    # each size replays the same minutes: without this, a deployment of the next size would
    # start from the previous size's last bar and (rightly) ignore the older ones it is sent
    await js.purge_stream(streams.MD_BARS.name)
    arrivals: dict[str, list[tuple[float, str]]] = {}
    seen: set[str] = set()
    stops: set[str] = set()  # every stop-loss intent, whenever it arrived

    async def on_intent(msg) -> None:
        # the fast path and the outbox relay both publish an intent (ORDERS keeps one copy,
        # a core subscriber sees both): the first arrival is the latency
        now = time.perf_counter()
        intent = msgspec.json.decode(msg.data, type=OrderIntent)
        if intent.intent_id in seen:
            return
        seen.add(intent.intent_id)
        arrivals.setdefault(intent.tag or "", []).append((now, intent.security_id))
        if intent.tag == "stop_loss":
            stops.add(intent.intent_id)

    await nc.subscribe(subjects.order_intents_all(), cb=on_intent)
    async with build_app(settings, clock=clock) as rt:
        await _seed(rt.pool, n, n_instr)
        rt.engine.wake.set()
        await _wait(lambda: len(rt.engine.runners) == n, 600, "deployments running")
        sids = [str(1000 + k) for k in range(n_instr)]
        bar_lat, tick_lat = [], []
        missing = 0
        minute = 0
        for r in range(rounds):
            for price in (99.0, 101.0):
                minute += 1
                sent = {}
                arrivals.clear()
                for sid in sids:
                    sent[sid] = time.perf_counter()
                    await js.publish(subjects.bar("1m", "NSE_EQ", sid), encode(_bar(sid, minute, price)))
                if price > 100:
                    await _wait(lambda: len(arrivals.get("entry", [])) >= n, 60, "entry intents",
                                strict=False)
                    missing += n - len(arrivals.get("entry", []))
                    bar_lat += [t - sent[s] for t, s in arrivals["entry"]]
                else:
                    await _wait(lambda: all(x.last_bar_start == DAY + timedelta(minutes=minute)
                                            for x in rt.engine.runners.values()), 120, "bars")
        for k, stop in enumerate(STOPS):
            arrivals.clear()
            sent = {}
            for sid in sids:
                at = DAY + timedelta(minutes=minute, seconds=k + 1)
                tick = Tick(event_id=f"t{sid}{k}", ts_event=at, ts_init=at, segment="NSE_EQ",
                            security_id=sid, ltp=stop - 1, ltt=at)
                sent[sid] = time.perf_counter()
                await nc.publish(subjects.tick("NSE_EQ", sid), encode(tick))
            await _wait(lambda: len(arrivals.get("stop_loss", [])) >= n, 30, "stop intents", strict=False)
            tick_lat += [t - sent[s] for t, s in arrivals["stop_loss"]]
        # an intent that came after its round's wait still came: count only those that never did
        await _wait(lambda: len(stops) >= n * len(STOPS), 10, "late stops", strict=False)
        missing += n * len(STOPS) - len(stops)
    await nc.drain()
    pct = lambda xs, q: round(float(np.percentile(np.array(xs) * 1000, q)), 1)
    return {"deployments": n, "instruments": n_instr, "bar_samples": len(bar_lat),
            "bar_p50_ms": pct(bar_lat, 50), "bar_p99_ms": pct(bar_lat, 99),
            "tick_samples": len(tick_lat), "tick_p50_ms": pct(tick_lat, 50),
            "tick_p99_ms": pct(tick_lat, 99), "missing": missing}


def _session_bars(n_instr: int) -> dict[str, list[Bar]]:
    """Return each instrument's bars for the session scenario (real 1-minute NSE bars)."""
    out = {}
    frames = {name: pl.read_parquet(DATA / f"NSE_EQ-{name}-1m.parquet") for name in STOCKS}
    for k in range(n_instr):
        df = frames[STOCKS[k % len(STOCKS)]]
        day = df["ts"].dt.date().unique().sort()[k // len(STOCKS)]
        rows = df.filter(pl.col("ts").dt.date() == day).head(WARMUP + MEASURED).rows(named=True)
        sid = str(1000 + k)
        out[sid] = [Bar(event_id=f"b{sid}-{j}", ts_event=r["ts"], ts_init=r["ts"], interval="1m",
                        segment="NSE_EQ", security_id=sid, start=r["ts"].astimezone(UTC),
                        end=(r["ts"] + timedelta(minutes=1)).astimezone(UTC),
                        open=round(r["open"] * 100), high=round(r["high"] * 100),
                        low=round(r["low"] * 100), close=round(r["close"] * 100),
                        volume=int(r["volume"]))
                    for j, r in enumerate(rows)]
    return out


async def _session(nats_url: str, dsn: str, n: int) -> dict:
    n_instr = min(n, 50)
    bars = _session_bars(n_instr)
    settings = ExecutionSettings(nats_url=nats_url, database_url=dsn, instance_id="bench",
                                 heartbeat_s=0.5, claim_batch=n, use_calendar=False,
                                 reconcile=False, stale_bar_s=1e9, db_pool_max=10,
                                 environment="test", log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    first = min(b[0].start for b in bars.values())
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.MD_BARS)
    await js.purge_stream(streams.MD_BARS.name)
    arrivals: list[tuple[float, str]] = []
    seen: set[str] = set()
    fired = [0]

    async def on_intent(msg) -> None:
        now = time.perf_counter()
        intent = msgspec.json.decode(msg.data, type=OrderIntent)
        if intent.intent_id not in seen:
            seen.add(intent.intent_id)
            arrivals.append((now, intent.security_id))

    await nc.subscribe(subjects.order_intents_all(), cb=on_intent)
    async with build_app(settings, clock=FixedClock(first)) as rt:
        rt.engine.on_commit.append(
            lambda decided: fired.__setitem__(0, fired[0] + sum(d.kind == "signal" for _, d in decided)))
        await _seed(rt.pool, n, n_instr, session=True)
        rt.engine.wake.set()
        await _wait(lambda: len(rt.engine.runners) == n, 600, "deployments running")
        lat, per_minute, evaluated = [], [], 0
        for j in range(WARMUP + MEASURED):
            arrivals.clear()
            fired[0] = 0
            sent = {}
            for sid, series in bars.items():
                sent[sid] = time.perf_counter()
                await js.publish(subjects.bar("1m", "NSE_EQ", sid), encode(series[j]))
            await _wait(lambda j=j: all(r.last_bar_start == bars[r.row["security_id"]][j].start
                                    for r in rt.engine.runners.values())
                        and not any(g.lock.locked() for g in rt.engine.groups.values()),
                        60, "bars")
            await _wait(lambda: len(arrivals) >= fired[0], 10, "intents")
            if j >= WARMUP:
                evaluated += n
                per_minute.append(len(arrivals))
                lat += [t - sent[s] for t, s in arrivals]
    await nc.drain()
    pct = lambda xs, q: round(float(np.percentile(np.array(xs) * 1000, q)), 1) if xs else None
    return {"scenario": "session", "deployments": n, "instruments": n_instr,
            "bars_evaluated": evaluated, "intents": len(lat),
            "intents_per_minute_max": max(per_minute), "bar_p50_ms": pct(lat, 50),
            "bar_p99_ms": pct(lat, 99), "bar_max_ms": pct(lat, 100)}


async def _wait(pred, timeout: float, what: str, strict: bool = True) -> None:
    deadline = time.monotonic() + timeout
    if os.environ.get("BENCH_LOG_LEVEL"):
        print(f"waiting for {what}", file=sys.stderr, flush=True)
    while not pred():
        if time.monotonic() > deadline:
            if not strict:  # counted as missing in the results
                return
            raise TimeoutError(what)
        await asyncio.sleep(0.005)


async def main(sizes: list[int], rounds: int, write: bool, scenario: str = "burst") -> None:
    configure_logging("bench", os.environ.get("BENCH_LOG_LEVEL", "WARNING"), False)
    base = Path(tempfile.mkdtemp(prefix="bench-exec-"))
    load_start = os.getloadavg()
    results = []
    try:
        with start_nats(base / "nats") as ns, start_postgres(base / "pg", durable=False) as pg:
            for n in sizes:
                name = f"bench_{n}_{uuid.uuid4().hex[:6]}"
                await create_database(pg.url, name)
                dsn = await create_service_role(pg.url, name, "execution", role=f"{name}_exec")
                res = await (_session(ns.url, dsn, n) if scenario == "session"
                             else _case(ns.url, dsn, n, rounds))
                print(json.dumps(res), flush=True)
                results.append(res)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if write:
        _write(results, load_start, os.getloadavg(), rounds)


def _write(results: list[dict], load_start, load_end, rounds: int) -> None:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# Execution benchmark results", "",
        "Recorded by `bench/execution/run.py --write` (the docstring describes the setup).", "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} CPUs, {cpu}; python {sys.version.split()[0]}",
        f"- Load average at the start {', '.join(f'{x:.2f}' for x in load_start)}, at the end "
        f"{', '.join(f'{x:.2f}' for x in load_end)} (other work shares this machine)",
        f"- {rounds} up-bars per size (every deployment fires on each), 5 stop-loss ticks", "",
        "| deployments | instruments | bar→intent p50 ms | p99 ms | samples | tick→stop p50 ms |"
        " p99 ms | samples | missing |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['deployments']} | {r['instruments']} | {r['bar_p50_ms']} | "
                     f"{r['bar_p99_ms']} | {r['bar_samples']} | {r['tick_p50_ms']} | "
                     f"{r['tick_p99_ms']} | {r['tick_samples']} | {r['missing']} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--scenario", choices=("burst", "session"), default="burst")
    args = ap.parse_args()
    import uvloop  # the service runs on uvloop (svckit), so does its benchmark

    uvloop.run(main([int(x) for x in args.sizes.split(",")], args.rounds,
                    args.write and args.scenario == "burst", args.scenario))

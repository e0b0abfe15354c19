"""Execution benchmark: bar close -> order intent and tick -> stop-loss exit latency.

`uv run python bench/execution/run.py [--sizes 1,100,1000] [--scenario burst|session|ticks|both]
[--write]` (both: burst and session)

Starts an embedded NATS (JetStream) and Postgres, runs the real execution service
(`execution.app.build_app`, uvloop) in a process of its own, and plays marketdata and the
broker from this one: it publishes bars and ticks and timestamps every order intent arriving
on `ord.intent.*`. Latency = from publishing an instrument's bar (or tick) to each intent it
caused arriving here. All bars of a minute are published at once, as marketdata does at the
minute's close; this process does nothing else, so its clock reads what a broker would see.

`--scenario burst` (the default), the worst case on purpose: N deployments (one paper
account each, spread over up to 50 instruments, `close crosses above 100`), each with five
open positions whose stops sit at 98.50 / 98.00 / 97.50 / 97.00 / 96.50.

- bars: every instrument's 1-minute bar at the same minute close, alternating 99 / 101, so
  every deployment fires on every up bar (evaluation, risk checks, one Postgres transaction
  per instrument for its intents, logs, events and states, then the publish);
- ticks: one tick per instrument below the next stop, so every deployment exits one
  position on it.

`--scenario session`, a trading hour: 50 instruments carry real 1-minute NSE bars
(`data/ohlc`: five stocks on ten days each), and deployment i trades instrument i % 50 with
`close crosses above sma(n)` / `close crosses below sma(n)`, n = 5 + i // 50 % 20. After 45
warm-up minutes (09:15-09:59 IST, not measured) the next 60 minutes are measured: every
deployment is evaluated and its state stored on every bar, and those whose rule fires send an
entry intent (no broker fills them, so each up-cross is a new entry).

`--scenario ticks`, a falling market: N deployments (one paper account each, spread over up
to 50 instruments) each hold one position; the deployments of an instrument have their stops
5 paise apart (99.95, 99.90, ...). Each step publishes one tick per instrument (all at once,
as the feed delivers a moment when everything moves) just below the next stop, so every
instrument exits one position per tick: a stop is hit while the instrument's other
deployments are checked and hold. The next step follows once the exits arrived. Two bars
first warm the engine up (not measured), as the burst's first round does.

p50/p99 over all intents of all rounds; the next round starts once the last one arrived.
The session also reports the CPU milliseconds per measured minute that the engine, Postgres,
NATS and this process spent (`cpu_ms_per_minute`): on a noisy machine the work done varies
far less than the tail latency, so it is the figure to compare two versions of the code by.

`--pin` gives the engine a core of its own: the engine process(es) run on CPU 0, Postgres,
NATS and this process on the others (as a Kubernetes pod with a whole-CPU Guaranteed request
gets under the static CPU manager policy; docs/ops/scale.md). Without it the scheduler
spreads all four over both cores, and the engine waits behind Postgres now and then.

Diagnostics on stderr: `BENCH_TRACE=1` prints each measured session minute (intents, their
first and last latency, the CPU milliseconds the engine, Postgres, NATS and this process
spent on it) and each step of the ticks scenario; `BENCH_PGSTATS=1` prints table statistics and the calls and time of
`record_decisions` at the end. `BENCH_POOL=n` sets the engine's Postgres pool (10).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec
import nats
import numpy as np
from contracts import streams, subjects
from contracts.events.base import encode
from contracts.events.marketdata import Bar, Tick
from contracts.events.orders import OrderIntent
from scenarios import DAY, MEASURED, STOPS, TICK_STEP, WARMUP, bar_at, seed, session_bars
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import create_database, create_service_role
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.jetstream import ensure_stream

HERE = Path(__file__).resolve().parent
OWNER = "bench"


# --- the execution service, in its own process ----------------------------------------------


def _engine(settings: dict, clock_at: str, cpus: set[int] | None) -> None:
    """Run the execution service until terminated (the child process)."""
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    import uvloop
    from execution.app import build_app
    from execution.settings import ExecutionSettings
    from svckit.clock import FixedClock
    from svckit.logging import configure_logging

    async def main() -> None:
        configure_logging("bench", settings["log_level"], False)
        async with build_app(ExecutionSettings(**settings),
                             clock=FixedClock(datetime.fromisoformat(clock_at))):
            await asyncio.Event().wait()

    uvloop.run(main())


def _start_engines(nats_url: str, dsn: str, n: int, clock_at: datetime, replicas: int,
                   cpus: set[int] | None) -> list:
    procs = []
    for k in range(replicas):
        # each replica claims its share in one heartbeat once the deployments appear; the
        # heartbeat is the service's own (3 s): its round now and then runs into a minute
        # close, as often per bar here as in a real session
        settings = dict(nats_url=nats_url, database_url=dsn, instance_id=f"{OWNER}-{k}",
                        heartbeat_s=3.0,
                        claim_batch=-(-n // replicas), use_calendar=False, reconcile=False,
                        stale_bar_s=1e9, environment="test",
                        db_pool_max=int(os.environ.get("BENCH_POOL", "10")),
                        log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
        proc = multiprocessing.get_context("spawn").Process(
            target=_engine, args=(settings, clock_at.isoformat(), cpus), daemon=True)
        proc.start()
        procs.append(proc)
    return procs


# --- the market and broker side -------------------------------------------------------------


class Desk:
    """Publishes bars and ticks, timestamps intents; the engine runs elsewhere."""

    def __init__(self, nc, js, pool, n: int) -> None:
        self.nc, self.js, self.pool, self.n = nc, js, pool, n
        self.arrivals: list[tuple[float, OrderIntent]] = []
        self.seen: set[str] = set()
        self.sent: dict[str, float] = {}

    async def start(self) -> None:
        async def on_intent(msg) -> None:
            now = time.perf_counter()
            intent = msgspec.json.decode(msg.data, type=OrderIntent)
            if intent.intent_id not in self.seen:  # a relay's copy would come later
                self.seen.add(intent.intent_id)
                self.arrivals.append((now, intent))

        await self.nc.subscribe(subjects.order_intents_all(), cb=on_intent)
        await self.nc.flush()

    async def running(self, timeout: float = 600) -> None:
        """Wait until the engine runs every deployment (each logs its warm-up)."""
        await _wait(self._count, "SELECT count(*) FROM exec_logs WHERE action = 'warm_up'",
                    self.n, timeout, "deployments running")
        await asyncio.sleep(1.0)  # the last ones subscribe to their bars after the log row

    async def bars(self, bars: list[Bar]) -> int:
        """Publish one minute's bars at once; return the lowest stream sequence they got."""
        now = time.perf_counter()
        self.sent = {b.security_id: now for b in bars}
        acks = await asyncio.gather(*(self.js.publish(
            subjects.bar(b.interval, b.segment, b.security_id), encode(b)) for b in bars))
        return min(a.seq for a in acks)

    async def settled(self, first_seq: int, timeout: float = 120) -> None:
        """Wait until every deployment stored the bar of this minute and its intents arrived."""
        await _wait(self._count, "SELECT count(*) FROM deployments WHERE last_bar_seq >= $1",
                    self.n, timeout, "bars stored", first_seq)
        total = await self.pool.fetchval("SELECT count(*) FROM intents")
        await _wait(lambda: _now(len(self.seen)), None, total, 30, "intents")
        # a minute of trading passes in a fraction of a second here: do what autovacuum
        # does in the rest of a real minute (its naptime is a minute), or every bar would
        # wade through the dead row versions of all earlier bars
        await self.pool.execute("VACUUM deployments, outbox")

    async def ticks(self, ticks: list[Tick]) -> None:
        now = time.perf_counter()
        self.sent = {t.security_id: now for t in ticks}
        for t in ticks:
            await self.nc.publish(subjects.tick(t.segment, t.security_id), encode(t))
        await self.nc.flush()

    def take(self, tag: str | None = None) -> list[float]:
        """Return the latencies of the intents that arrived since the last call."""
        out = [t - self.sent[i.security_id] for t, i in self.arrivals
               if tag is None or i.tag == tag]
        self.arrivals.clear()
        return out

    async def _count(self, sql: str, *args) -> int:
        return await self.pool.fetchval(sql, *args)


async def _now(value):
    return value


async def _wait(probe, sql: str | None, want: int, timeout: float, what: str, *args) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = await (probe(sql, *args) if sql is not None else probe())
        if got >= want:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {got} of {want}")
        # gently: Postgres shares two cores with the engine (latency is timed on arrival)
        await asyncio.sleep(0.02 if sql is not None else 0.005)


async def _run(nats_url: str, dsn: str, n: int, scenario: str, rounds: int,
               replicas: int, engine_cpus: set[int] | None) -> dict:
    n_instr = min(n, 50)
    session = scenario == "session"
    series = session_bars(n_instr) if session else {}
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.MD_BARS)
    # each size replays the same minutes: a deployment of the next size would otherwise start
    # after the previous size's last bar and (rightly) ignore the older ones it is sent
    await js.purge_stream(streams.MD_BARS.name)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    start = min(b[0].start for b in series.values()) if session else DAY
    engines = _start_engines(nats_url, dsn, n, start, replicas, engine_cpus)
    try:
        await _wait_schema(pool)
        desk = Desk(nc, js, pool, n)
        await desk.start()
        await seed(pool, n, n_instr, scenario)
        await desk.running()
        # statistics, as autovacuum's analyze would have them on a table this size in a
        # minute: planned on an empty table's, a bar's UPDATE scans every deployment
        await pool.execute("ANALYZE")
        # this process is the broker's clock: a collection of its heap (polars, the bars, the
        # intents) while intents arrive adds its pause to their latency (53 ms seen)
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            sids = [str(1000 + k) for k in range(n_instr)]
            if session:
                res = await _session(desk, series)
            elif scenario == "ticks":
                res = await _ticks(desk, sids)
            else:
                res = await _burst(desk, sids, rounds)
        finally:
            gc.enable()
            gc.unfreeze()
        if os.environ.get("BENCH_PGSTATS"):
            for r in await pool.fetch(
                    "SELECT relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins, n_tup_upd,"
                    " n_tup_hot_upd, n_dead_tup, autovacuum_count, autoanalyze_count"
                    " FROM pg_stat_user_tables ORDER BY seq_tup_read DESC"):
                print(dict(r), file=sys.stderr)
            for r in await pool.fetch("SELECT funcname, calls, total_time FROM pg_stat_user_functions"):
                print(dict(r), file=sys.stderr)
    finally:
        for engine in engines:
            engine.terminate()
            engine.join(10)
        await pool.close()
        await nc.drain()
    return {"scenario": scenario, "deployments": n, "replicas": replicas, "instruments": n_instr,
            "engine_pinned": engine_cpus is not None, **res}


async def _wait_schema(pool) -> None:
    deadline = time.monotonic() + 120
    while not await pool.fetchval("SELECT to_regclass('exec_logs') IS NOT NULL"):
        if time.monotonic() > deadline:
            raise TimeoutError("the engine did not migrate its schema")
        await asyncio.sleep(0.1)


async def _burst(desk: Desk, sids: list[str], rounds: int) -> dict:
    bar_lat, tick_lat = [], []
    minute = 0
    for _ in range(rounds):
        for price in (99.0, 101.0):
            minute += 1
            seq = await desk.bars([bar_at(sid, minute, price) for sid in sids])
            await desk.settled(seq)
            lat = desk.take("entry")
            if price > 100:
                bar_lat += lat
    for k, stop in enumerate(STOPS):
        at = DAY + timedelta(minutes=minute, seconds=k + 1)
        await desk.ticks([Tick(event_id=f"t{sid}{k}", ts_event=at, ts_init=at, segment="NSE_EQ",
                               security_id=sid, ltp=stop - 1, ltt=at) for sid in sids])
        await _wait(lambda: _now(sum(i.tag == "stop_loss" for _, i in desk.arrivals)), None,
                    desk.n, 60, "stop intents")
        tick_lat += desk.take("stop_loss")
    return {"bar_samples": len(bar_lat), "bar_p50_ms": _pct(bar_lat, 50),
            "bar_p99_ms": _pct(bar_lat, 99), "bar_max_ms": _pct(bar_lat, 100),
            "tick_samples": len(tick_lat), "tick_p50_ms": _pct(tick_lat, 50),
            "tick_p99_ms": _pct(tick_lat, 99), "tick_max_ms": _pct(tick_lat, 100)}


async def _ticks(desk: Desk, sids: list[str]) -> dict:
    """Step the price of every instrument down through its deployments' stops, one a tick."""
    # warm-up, not measured: a quiet bar, then one where every deployment enters (pending
    # entries: the stops below watch only the positions held). Each pooled connection's
    # first commit compiles record_decisions and plans its statements (10-15 ms).
    for minute, price in ((1, 100.5), (2, 101.5)):  # the bars' lows stay above every stop
        await desk.settled(await desk.bars([bar_at(sid, minute, price) for sid in sids]))
    desk.take()
    # and the entries' events and outbox marks are done with (a second later in real time)
    await _wait(desk._count, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL",
                True, 60, "outbox drained")
    lat = []
    steps = -(-desk.n // len(sids))
    for k in range(1, steps + 1):
        at = DAY + timedelta(seconds=k)
        ltp = 10_000 - TICK_STEP * k - 1  # below the k-th stop of each instrument, above the next
        await desk.ticks([Tick(event_id=f"t{sid}-{k}", ts_event=at, ts_init=at, segment="NSE_EQ",
                               security_id=sid, ltp=ltp, ltt=at) for sid in sids])
        want = sum(1 for i in range(desk.n) if i // len(sids) == k - 1)
        await _wait(lambda: _now(sum(i.tag == "stop_loss" for _, i in desk.arrivals)), None,
                    want, 60, "stop intents")
        got = desk.take("stop_loss")
        if os.environ.get("BENCH_TRACE"):
            print(f"step {k}: {len(got)} exits, min {1000 * min(got):.1f}"
                  f" max {1000 * max(got):.1f} ms", file=sys.stderr)
        lat += got
        await asyncio.sleep(0.05)  # the events and outbox marks of this step settle
    return {"tick_samples": len(lat), "tick_p50_ms": _pct(lat, 50),
            "tick_p90_ms": _pct(lat, 90), "tick_p99_ms": _pct(lat, 99),
            "tick_max_ms": _pct(lat, 100)}


def _cpu_ms() -> dict[str, int]:
    """Return the CPU time (user + system, ms) of the engine, Postgres, NATS and this process."""
    out: dict[str, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        key = "engine" if b"spawn_main" in cmd else "bench" if b"run.py" in cmd else name
        if key in ("engine", "bench", "postgres", "nats-server"):
            ticks = int(fields[11]) + int(fields[12])
            out[key] = out.get(key, 0) + ticks * 1000 // os.sysconf("SC_CLK_TCK")
    return out


async def _session(desk: Desk, series: dict[str, list[Bar]]) -> dict:
    lat, per_minute = [], []
    trace = os.environ.get("BENCH_TRACE")
    for j in range(WARMUP + MEASURED):
        before = _cpu_ms() if trace or j == WARMUP else {}
        if j == WARMUP:
            start = before
        seq = await desk.bars([s[j] for s in series.values()])
        await desk.settled(seq)
        got = desk.take()
        if trace and j >= WARMUP:  # with the CPU each process spent on the minute
            used = {k: v - before.get(k, 0) for k, v in _cpu_ms().items()}
            print(f"minute {j}: {len(got)} intents, min {1000 * min(got, default=0):.1f}"
                  f" max {1000 * max(got, default=0):.1f} ms, cpu ms {used}", file=sys.stderr)
        if j >= WARMUP:
            per_minute.append(len(got))
            lat += got
    used = {k: round((v - start.get(k, 0)) / MEASURED, 1) for k, v in _cpu_ms().items()}
    return {"bars_evaluated": desk.n * MEASURED, "intents": len(lat),
            "intents_per_minute_max": max(per_minute), "bar_p50_ms": _pct(lat, 50),
            "bar_p90_ms": _pct(lat, 90), "bar_p99_ms": _pct(lat, 99),
            "bar_max_ms": _pct(lat, 100), "cpu_ms_per_minute": used}


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.array(xs) * 1000, q)), 1) if xs else None


def _pin_tree(pid: int, cpus: set[int]) -> None:
    """Pin a process, every thread of it and its descendants to `cpus`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(stat.parent.name))
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)
        todo += children.get(p, [])


async def main(sizes: list[int], scenario: str, rounds: int, replicas: int = 1,
               pin: bool = False) -> list[dict]:
    base = Path(tempfile.mkdtemp(prefix="bench-exec-"))
    results = []
    engine_cpus = rest = None
    if pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("--pin needs at least two CPUs")
        engine_cpus, rest = {cpus[0]}, set(cpus[1:])
    try:
        with start_nats(base / "nats") as ns, start_postgres(base / "pg", durable=False) as pg:
            if rest is not None:  # Postgres' backends fork from the postmaster: they follow
                for server in (ns, pg):
                    _pin_tree(server.pid, rest)
                os.sched_setaffinity(0, rest)
            for n in sizes:
                name = f"bench_{n}_{uuid.uuid4().hex[:6]}"
                await create_database(pg.url, name)
                if os.environ.get("BENCH_PGSTATS"):  # time spent in record_decisions
                    admin = await asyncpg.connect(pg.url)
                    await admin.execute("ALTER SYSTEM SET track_functions = 'all'")
                    await admin.execute("SELECT pg_reload_conf()")
                    await admin.close()
                dsn = await create_service_role(pg.url, name, "execution", role=f"{name}_exec")
                res = await _run(ns.url, dsn, n, scenario, rounds, replicas, engine_cpus)
                print(json.dumps(res), flush=True)
                results.append(res)
    finally:
        remove_cluster(base / "pg")
        shutil.rmtree(base, ignore_errors=True)
    return results


def _write(results: list[dict], load: tuple, rounds: int) -> None:
    """Append a dated section with the machine and the figures to RESULTS.md."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    where = "on CPU 0, the rest on the others (--pin)" \
        if any(r.get("engine_pinned") for r in results) else "sharing the cores with the rest"
    lines = ["", f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"{os.cpu_count()} CPUs, {cpu}; python {sys.version.split()[0]}; load average "
             f"{load[0]:.2f} before, {os.getloadavg()[0]:.2f} after; burst: {rounds} up-bars and "
             f"5 stop ticks per size; the engine {where}.", "",
             "| scenario | deployments | intents | bar→intent p50 ms | p99 ms | max ms |"
             " tick→stop p50 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        intents = r.get("intents", r.get("bar_samples", 0)) + r.get("tick_samples", 0)
        lines.append(f"| {r['scenario']} | {r['deployments']:,} | {intents:,} |"
                     f" {r.get('bar_p50_ms', '–')} | {r.get('bar_p99_ms', '–')} |"
                     f" {r.get('bar_max_ms', '–')} | {r.get('tick_p50_ms', '–')} |"
                     f" {r.get('tick_p99_ms', '–')} | {r.get('tick_max_ms', '–')} |")
    with (HERE / "RESULTS.md").open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000")
    ap.add_argument("--scenario", choices=("burst", "session", "ticks", "both"), default="burst")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=1, help="engine processes sharing the deployments")
    ap.add_argument("--pin", action="store_true",
                    help="the engine on CPU 0, Postgres, NATS and the benchmark on the others")
    ap.add_argument("--write", action="store_true", help="append the figures to RESULTS.md")
    args = ap.parse_args()
    import uvloop  # the service runs on uvloop (svckit), so does its benchmark

    load = os.getloadavg()
    out = []
    for sc in ("burst", "session") if args.scenario == "both" else (args.scenario,):
        out += uvloop.run(main([int(x) for x in args.sizes.split(",")], sc, args.rounds,
                               args.replicas, args.pin))
    if args.write:
        _write(out, load, args.rounds)

"""Benchmark the marketdata live path on real servers (embedded NATS, Postgres, Redis).

1. Ticks/s decoded and published: Dhan full packets (162 bytes, one per frame as Dhan sends
   them) through the feed decoder and `LivePipeline.on_ticks` (publish on md.tick.*, quote
   cache, bar aggregation), counted again by a separate NATS subscriber.
2. Tick -> bar-published latency: the first tick of a new minute closes the previous bar;
   measured until that bar arrives on `md.bar.1m.*` after Postgres + outbox + JetStream.

Run: `uv run python bench/marketdata/bench_feed.py [--packets 300000] [--instruments 100]`
(prefix `taskset -c 0,1` to pin to two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import struct
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import nats
import redis.asyncio as aioredis
from contracts import streams
from marketdata.bars import BarAggregator
from marketdata.calendar import Calendar
from marketdata.dhan.packets import Decoder
from marketdata.live import LivePipeline
from marketdata.quotes import QuoteCache
from svckit import migrations as mig
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import create_database, create_service_role
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.infra.redis import start_redis
from svckit.jetstream import ensure_stream
from svckit.outbox import OutboxRelay

FULL = struct.Struct("<BHBIfHIfIIIIIIffff")
LEVEL = struct.Struct("<IIHHff")
IST_SHIFT = 19_800
T0 = int(datetime(2025, 7, 23, 4, 30, tzinfo=UTC).timestamp())  # 10:00 IST


def full_packet(sid: int, ltp: float, ltt_utc: int, volume: int) -> bytes:
    """Encode one Dhan full packet (API.md §8.4)."""
    head = FULL.pack(8, 162, 1, sid, ltp, 10, ltt_utc + IST_SHIFT, ltp, volume, 500, 700, 0, 0, 0,
                     ltp, 0.0, ltp + 1, ltp - 1)
    return head + b"".join(LEVEL.pack(100, 120, 3, 4, ltp - 0.05 * (k + 1), ltp + 0.05 * (k + 1))
                           for k in range(5))


class Clock:
    """A settable business clock."""

    def __init__(self, at: int) -> None:
        self.at = datetime.fromtimestamp(at, UTC)

    def now(self) -> datetime:
        return self.at


async def throughput(pipeline: LivePipeline, nc_sub, packets: int, instruments: int) -> dict:
    received = 0

    async def count(msg) -> None:
        nonlocal received
        received += 1

    await nc_sub.subscribe("md.tick.>", cb=count)
    await nc_sub.flush()
    frames = [full_packet(1000 + i % instruments, 1400.0 + (i % 97) * 0.05,
                          T0 + (i * 55) // packets, 1_000 + i) for i in range(packets)]
    dec = Decoder("b")
    now = datetime.fromtimestamp(T0, UTC)
    started = time.perf_counter()
    for frame in frames[:20_000]:
        dec.decode(frame, now)
    decode_only = 20_000 / (time.perf_counter() - started)
    dec = Decoder("c")
    started = time.perf_counter()
    for frame in frames:
        ticks, _ = dec.decode(frame, now)
        await pipeline.on_ticks(ticks)
    await pipeline._nc.flush()
    elapsed = time.perf_counter() - started
    deadline = time.monotonic() + 30
    while received < packets and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return {"packets": packets, "instruments": instruments, "seconds": round(elapsed, 3),
            "ticks_per_s": round(packets / elapsed), "decode_only_per_s": round(decode_only),
            "received_by_subscriber": received}


async def latency(pipeline: LivePipeline, clock: Clock, nc_sub, minutes: int, instruments: int) -> dict:
    arrived: dict[tuple[str, int], float] = {}

    async def on_bar(msg) -> None:
        body = json.loads(msg.data)
        arrived[(body["securityId"], body["start"])] = time.perf_counter()

    await nc_sub.subscribe("md.bar.1m.>", cb=on_bar)
    await nc_sub.flush()
    dec = Decoder("l")
    sent: dict[tuple[str, str], float] = {}
    base = T0 + 3600  # 11:00 IST, after the throughput run's minute
    vol = 10_000_000
    for m in range(minutes + 1):
        minute = base + 60 * m
        for k in range(4):
            clock.at = datetime.fromtimestamp(minute + 15 * k, UTC)
            for i in range(instruments):
                vol += 7
                frame = full_packet(5000 + i, 1500.0 + k * 0.5, minute + 15 * k, vol)
                ticks, _ = dec.decode(frame, clock.at)
                if k == 0 and m > 0:
                    start = datetime.fromtimestamp(minute - 60, UTC).isoformat().replace("+00:00", "Z")
                    sent[(str(5000 + i), start)] = time.perf_counter()
                await pipeline.on_ticks(ticks)
            if k == 0 and m > 0:
                deadline = time.monotonic() + 10
                while sum(1 for key in sent if key in arrived) < len(sent) and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
    lat = sorted((arrived[key] - t) * 1000 for key, t in sent.items() if key in arrived)
    q = statistics.quantiles(lat, n=100)
    return {"bars": len(sent), "delivered": len(lat), "p50_ms": round(q[49], 2),
            "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2), "max_ms": round(lat[-1], 2)}


async def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="md-bench-"))
    try:
        with start_nats(base / "nats") as ns, start_postgres(base / "pg", durable=False) as pg, \
                start_redis(base / "redis") as rs:
            dsn = await create_database(pg.url, "bench")
            service_dsn = await create_service_role(pg.url, "bench", "marketdata")
            conn = await asyncpg.connect(service_dsn)
            await mig.migrate(conn, "marketdata", mig.builtin() + mig.load("marketdata"))
            await conn.close()
            pool = await asyncpg.create_pool(service_dsn, min_size=2, max_size=5,
                                             server_settings={"search_path": "marketdata"})
            nc = await nats.connect(ns.url, pending_size=64 * 1024 * 1024)
            nc_sub = await nats.connect(ns.url, pending_size=64 * 1024 * 1024)
            js = nc.jetstream()
            for spec in (streams.MD_TICKS, streams.MD_BARS):
                await ensure_stream(js, spec)
            r = aioredis.from_url(rs.url)
            clock = Clock(T0)
            cal = Calendar.load()
            quotes = QuoteCache(r, lambda *p: "bench:" + ":".join(p), 30, None, clock.now)
            pipeline = LivePipeline(nc, pool, BarAggregator(cal.session_bounds), quotes, clock.now,
                                    cal.session_bounds)
            tasks = [asyncio.create_task(pipeline.run_writer()),
                     asyncio.create_task(quotes.run_flusher(0.25)),
                     asyncio.create_task(OutboxRelay(pool, js, "marketdata").run())]
            out = {"machine": f"{platform.processor() or platform.machine()}, "
                              f"{len(__import__('os').sched_getaffinity(0))} usable cores, "
                              f"Python {platform.python_version()}",
                   "date": datetime.now(UTC).isoformat(timespec="seconds")}
            out["throughput"] = await throughput(pipeline, nc_sub, args.packets, args.instruments)
            out["bar_latency"] = await latency(pipeline, clock, nc_sub, args.minutes, args.instruments)
            print(json.dumps(out, indent=2))
            if args.write:
                _write(args, out)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await nc.drain()
            await nc_sub.drain()
            await pool.close()
            await r.aclose()
            del dsn
    finally:
        remove_cluster(base / "pg")
        shutil.rmtree(base, ignore_errors=True)


def _write(args: argparse.Namespace, out: dict) -> None:
    """Append a dated section to RESULTS.md."""
    import os

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    t, b = out["throughput"], out["bar_latency"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "", f"## Feed throughput and tick → bar, {out['date'][:16].replace('T', ' ')} UTC", "",
        f"Command: `uv run python bench/marketdata/bench_feed.py --packets {args.packets} "
        f"--instruments {args.instruments} --minutes {args.minutes} --write` (on uvloop, as "
        "the service runs).", "",
        f"Machine: {os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}; load "
        f"average at the end {load}.", "",
        "| measure | result |", "|---|---|",
        f"| ticks decoded + published ({t['packets']} full packets over {t['instruments']} "
        f"instruments; `md.tick.*`, quote cache, bar aggregation; a NATS subscriber in the "
        f"same process receives them all) | **{t['ticks_per_s']:,} ticks/s** "
        f"({t['received_by_subscriber']:,} received) |",
        f"| decode only (packet → `Tick`) | {t['decode_only_per_s']:,} ticks/s |",
        f"| tick → bar published ({b['bars']} bars, {args.instruments} instruments closing "
        f"together each minute) | p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, p99 "
        f"{b['p99_ms']} ms, max {b['max_ms']} ms |",
    ]
    with Path(__file__).with_name("RESULTS.md").open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--packets", type=int, default=300_000)
    p.add_argument("--instruments", type=int, default=100)
    p.add_argument("--minutes", type=int, default=30)
    p.add_argument("--write", action="store_true", help="append the results to RESULTS.md")
    import uvloop

    uvloop.run(main(p.parse_args()))

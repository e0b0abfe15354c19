"""Browser fan-out: N WebSocket clients on the gateway's `/ws`, ticks of 100 instruments.

`uv run python bench/marketdata/bench_fanout.py [--clients 1000] [--instruments 100]
 [--per-client 5] [--rates 1,2,5] [--seconds 10] [--write]`

Processes: embedded NATS and Redis, PostgreSQL for auth; the real `auth` and `gateway`
(as `make run` starts them, on uvloop); a client process holding all the WebSockets
(`websockets`, one event loop), and this process publishing ticks. Marketdata itself is
replaced by a stub that grants the gateway's instrument leases, so the figures are the
gateway's: one NATS subscription per instrument, each tick re-framed once and offered to
every watching client's conflating queue, one send per client.

Every client authenticates, subscribes to `--per-client` of the instruments (spread evenly,
so each instrument has clients × per-client / instruments watchers), and counts the ticks
it receives. Each tick carries its publish time (ns) in `eventId`; delay = receive time −
publish time, on the same machine clock. A client too slow to keep up gets the latest tick
per instrument (conflation), never a backlog; the "delivered" column counts what arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PASSWORD = "Bench-password-42"


# --- the client process ----------------------------------------------------------------

async def clients_main(url: str, token: str, n: int, instruments: int, per_client: int,
                       seconds: float) -> None:
    import websockets

    delays: list[float] = []
    counts = [0] * n
    ready = asyncio.Event()
    connected = 0
    stop = asyncio.Event()

    async def one(i: int) -> None:
        nonlocal connected
        async with websockets.connect(url, max_queue=None, compression=None,
                                      open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await ws.recv())["type"] == "ready"
            sids = [str(1000 + (i * per_client + k) % instruments) for k in range(per_client)]
            await ws.send(json.dumps({"type": "subscribe", "instruments": [
                {"segment": "NSE_EQ", "securityId": s} for s in sids]}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "subscribed":
                    break
            connected += 1
            if connected == n:
                ready.set()
            sample = i % 10 == 0  # delays from a tenth of the clients keep the client cheap
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                counts[i] += 1
                if sample:
                    at = time.time_ns()
                    start = raw.find('"eventId":"') + 11
                    delays.append((at - int(raw[start:raw.index('"', start)])) / 1e6)

    tasks = []
    for i in range(n):  # connect in waves: the gateway accepts, authenticates, leases
        tasks.append(asyncio.create_task(one(i)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(ready.wait(), 180)
    print(json.dumps({"ready": n}), flush=True)
    # the publisher sends for `seconds`; count only that window
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    assert line.strip() == "start"
    base = sum(counts)
    delays.clear()
    await asyncio.sleep(seconds + 1.0)
    got = sum(counts) - base
    stop.set()
    d = np.array(delays) if delays else np.array([0.0])
    print(json.dumps({"received": got, "p50_ms": round(float(np.percentile(d, 50)), 1),
                      "p99_ms": round(float(np.percentile(d, 99)), 1),
                      "max_ms": round(float(d.max()), 1), "samples": len(delays)}), flush=True)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- the driver --------------------------------------------------------------------------

async def lease_stub(nc) -> None:
    """Grant every lease: the gateway's side of marketdata (no real feed in this bench)."""
    from contracts import marketdata as md

    async def grant(msg) -> None:
        await msg.respond(b"{}")

    await nc.subscribe(md.LEASE, cb=grant)
    await nc.subscribe(md.RELEASE, cb=grant)


async def publish(nc, instruments: int, rate: float, seconds: float) -> int:
    """Publish `rate` ticks per second per instrument for `seconds`, evenly spread."""
    from contracts import subjects
    from contracts.events.base import encode
    from contracts.events.marketdata import Tick

    sids = [str(1000 + k) for k in range(instruments)]
    subjects_ = [subjects.tick("NSE_EQ", s) for s in sids]
    step = 1.0 / (rate * instruments)  # ticks spread evenly, as a live feed delivers them
    t0 = time.perf_counter()
    sent = 0
    total = int(rate * seconds) * instruments
    for k in range(total):
        due = t0 + k * step
        delay = due - time.perf_counter()
        if delay > 0.001:
            await nc.flush()
            await asyncio.sleep(delay)
        sid, subj = sids[k % instruments], subjects_[k % instruments]
        now = datetime.now(UTC)
        tick = Tick(event_id=str(time.time_ns()), ts_event=now, ts_init=now,
                    segment="NSE_EQ", security_id=sid, ltp=250_000 + k, ltt=now)
        await nc.publish(subj, encode(tick))
        sent += 1
    await nc.flush()
    return sent


async def main(args: argparse.Namespace) -> None:
    import nats
    from svckit.devrun.manifest import Manifest, Process
    from svckit.devrun.output import Console
    from svckit.devrun.platform import Platform
    from svckit.infra.nats import start_nats
    from svckit.infra.postgres import remove_cluster, start_postgres
    from svckit.infra.probe import free_port
    from svckit.infra.redis import start_redis

    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as d:
        tmp = Path(d)
        servers = [start_nats(tmp / "nats"), start_postgres(tmp / "pg", durable=False),
                   start_redis(tmp / "redis")]
        nats_srv, pg, rds = servers
        try:
            http_port = free_port()
            prefix = "bench:"
            auth = Process(name="auth", module="auth", env_prefix="AUTH_", schema="auth",
                           ops_port=free_port(),
                           env={"AUTH_JWT_PRIVATE_KEY_FILE": "{secret_file:jwt_signing_key}",
                                "AUTH_DEV_SECRETS_DIR": str(tmp / "auth"),
                                "AUTH_LOG_LEVEL": "WARNING"})
            gateway = Process(
                name="gateway", module="gateway", env_prefix="GATEWAY_", ports=(http_port,),
                ops_port=free_port(),
                env={"GATEWAY_HTTP_PORT": str(http_port),
                     "GATEWAY_REVOCATION_PREFIX": f"{prefix}auth:",
                     "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_WEB_DIST": str(tmp / "none")})
            manifest = Manifest(processes=(auth, gateway), database="bench",
                                url=f"http://127.0.0.1:{http_port}", clock_url=None)
            plat = Platform(manifest, nats_url=nats_srv.url, admin_dsn=pg.url,
                            redis_url=rds.url, run_dir=tmp, root=ROOT, role_prefix="bench_",
                            redis_prefix=prefix,
                            console=Console((tmp / "platform.log").open("w"), color=False),
                            ready_timeout=90, grace=5)
            nc = await nats.connect(nats_srv.url)
            await lease_stub(nc)
            with plat:
                url = f"http://127.0.0.1:{http_port}"
                email = f"fanout-{secrets.token_hex(4)}@example.com"
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    (await http.post("/api/auth/register", json={
                        "email": email, "password": PASSWORD, "name": "Bench"})).raise_for_status()
                    r = await http.post("/api/auth/login", json={"email": email,
                                                                 "password": PASSWORD})
                    token = r.json()["tokens"]["accessToken"]
                for rate in [float(x) for x in args.rates.split(",")]:
                    rows.append(await _one_rate(args, url, token, nc, rate))
                    print(json.dumps(rows[-1]), flush=True)
            await nc.drain()
        finally:
            for srv in reversed(servers):
                srv.stop()
            remove_cluster(tmp / "pg")
    if args.write:
        _write(args, rows, load_start, os.getloadavg())


async def _one_rate(args: argparse.Namespace, url: str, token: str, nc, rate: float) -> dict:
    ws_url = url.replace("http://", "ws://") + "/ws"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--as-clients", ws_url, token, str(args.clients),
        str(args.instruments), str(args.per_client), str(args.seconds),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 240))
    assert ready == {"ready": args.clients}, ready
    proc.stdin.write(b"start\n")
    await proc.stdin.drain()
    sent = await publish(nc, args.instruments, rate, args.seconds)
    result = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
    await proc.wait()
    watchers = args.clients * args.per_client / args.instruments
    expected = sent * watchers
    return {"rate_per_instrument": rate, "ticks_in_per_s": round(sent / args.seconds),
            "expected_out_per_s": round(expected / args.seconds),
            "delivered_per_s": round(result["received"] / args.seconds),
            "delivered_pct": round(100 * result["received"] / expected, 1),
            "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "max_ms": result["max_ms"]}


def _write(args: argparse.Namespace, rows: list[dict], load_start, load_end) -> None:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break

    def load(xs: tuple) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    out = [
        "", f"## Browser fan-out, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"Script: `bench/marketdata/bench_fanout.py --clients {args.clients} --instruments "
        f"{args.instruments} --per-client {args.per_client} --rates {args.rates} --seconds "
        f"{args.seconds:g} --write` (the docstring describes the setup).", "",
        f"Machine: {os.cpu_count()} CPUs, {cpu}, Python {sys.version.split()[0]}; load average "
        f"{load(load_start)} at the start, {load(load_end)} at the end. The gateway, auth, "
        "NATS, the client process and the publisher share the 2 cores.", "",
        f"{args.clients} WebSocket clients, each on {args.per_client} of {args.instruments} "
        f"instruments ({args.clients * args.per_client // args.instruments} watchers per "
        "instrument).", "",
        "| ticks/s per instrument | ticks in /s | frames owed /s | delivered /s | delivered % "
        "| p50 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(f"| {r['rate_per_instrument']:g} | {r['ticks_in_per_s']} | "
                   f"{r['expected_out_per_s']} | {r['delivered_per_s']} | "
                   f"{r['delivered_pct']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |")
    with (HERE / "RESULTS.md").open("a") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--as-clients":
        u, t, n, i, k, s = sys.argv[2:8]
        import uvloop

        uvloop.run(clients_main(u, t, int(n), int(i), int(k), float(s)))
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--instruments", type=int, default=100)
    ap.add_argument("--per-client", type=int, default=5)
    ap.add_argument("--rates", default="1,2,5", help="ticks per second per instrument")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--write", action="store_true", help="append to RESULTS.md")
    import uvloop

    uvloop.run(main(ap.parse_args()))

"""Brokerage benchmark: order intents per second through brokerage to the Dhan simulator.

`uv run python bench/brokerage/run.py [--rates 25,50,100] [--seconds 10] [--burst 1000] [--write]`

Processes, as in production (each its own OS process): embedded NATS (JetStream),
PostgreSQL and Redis; the Dhan simulator (`python -m dhansim --no-rate-limits`, its market
clock paused inside market hours); the brokerage service (`python -m brokerage`, with its
own pacing switched off: `BROKERAGE_PACING_ENABLED=false`). This process links one
simulator account through brokerage's NATS API, then publishes `OrderIntent`s on
`ord.intent.<accountId>` into the ORDERS stream (Nats-Msg-Id = intent id, exactly as
execution does): LIMIT buys 3 % under the last price, so each rests at the exchange and
brokerage reports it `accepted`.

- Fixed rates (open loop): intents are sent on a schedule; latency = from the *scheduled*
  send time to the `evt.<user>.order.accepted` event (no coordinated omission). Brokerage's
  path per intent: JetStream pull, inbox dedupe, Postgres order row, the Dhan REST place
  call, the order-update WebSocket / order-book confirmation, the outbox relay of the event.
- Burst (closed): `--burst` intents published at once; throughput = intents / time from the
  first publish to the last `accepted`.

Every intent must be accepted exactly once: the script counts losses (no `accepted` in time)
and duplicates (the simulator's order count for the client against the intents sent).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import numpy as np
import orjson
from brokerage.crypto import KeyRing
from brokerage.testing import order_intent, publish_intent, user_headers
from contracts import brokerage as b
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import create_database, create_service_role
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.infra.probe import free_port, http_status, wait_for
from svckit.infra.redis import start_redis
from svckit.nats import request

HERE = Path(__file__).resolve().parent
USER = "bench-user"
SECURITY_ID = "2885"  # RELIANCE


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Watcher:
    """Times every intent from its (scheduled) send to its first order event of each kind."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.accepted: dict[str, float] = {}
        self.placed: dict[str, float] = {}
        self.other: dict[str, int] = {}

    async def on_event(self, msg) -> None:
        now = time.perf_counter()
        name = msg.subject.rsplit(".", 1)[1]
        body = orjson.loads(msg.data)
        iid = body.get("intentId")
        if name == "accepted":
            self.accepted.setdefault(iid, now)
        elif name == "placed":
            self.placed.setdefault(iid, now)
        elif name in ("rejected", "failed", "stale"):
            self.other[name] = self.other.get(name, 0) + 1
            print(f"  {name}: {body.get('reason')}", file=sys.stderr)

    def latencies(self, ids: list[str], of: str = "accepted") -> list[float]:
        seen = self.accepted if of == "accepted" else self.placed
        return [seen[i] - self.sent[i] for i in ids if i in seen]


async def _wait_for(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _run(nats_url: str, sim_rest: str, ts_event: datetime,
               clients: list[tuple[str, str]], rates: list[int], seconds: float, burst: int,
               price: int) -> dict:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    watcher = Watcher()
    await nc.subscribe(f"evt.{USER}.order.>", cb=watcher.on_event)
    await nc.flush()
    accounts = []
    for client_id, access in clients:
        account = await request(nc, b.LINK_ACCOUNT, {"broker": "dhan", "dhanClientId": client_id,
                                                     "accessToken": access},
                                headers=user_headers(USER), timeout=30)
        accounts.append(account["id"])
    total = 0
    turn = itertools.count()

    def make():
        account_id = accounts[next(turn) % len(accounts)]
        return order_intent(account_id, USER, ts_event, security_id=SECURITY_ID,
                            order_type="LIMIT", price_paise=price, deployment_id=None)

    async def send(intent, at: float) -> None:
        watcher.sent[intent.intent_id] = at
        await publish_intent(js, intent)

    # warm-up: connections, prepared statements, the order socket
    warm = [make() for _ in range(20)]
    for it in warm:
        await send(it, time.perf_counter())
    await _wait_for(lambda: all(i.intent_id in watcher.accepted for i in warm), 60)
    total += len(warm)

    results: dict = {"rates": []}
    for rate in rates:
        n = int(rate * seconds)
        intents = [make() for _ in range(n)]
        t0 = time.perf_counter() + 0.05
        for k, it in enumerate(intents):
            due = t0 + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await send(it, due)  # latency from the schedule, not from when we got round to it
        total += n
        ids = [i.intent_id for i in intents]
        await _wait_for(lambda ids=ids: all(i in watcher.accepted for i in ids), 60)
        lat = np.array(watcher.latencies(ids)) * 1000
        placed = np.array(watcher.latencies(ids, "placed")) * 1000
        row = {"rate": rate, "intents": n, "accepted": len(lat),
               "placed_p50_ms": round(float(np.percentile(placed, 50)), 1) if len(placed) else None,
               "placed_p99_ms": round(float(np.percentile(placed, 99)), 1) if len(placed) else None,
               "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
               "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
               "max_ms": round(float(lat.max()), 1) if len(lat) else None}
        print(json.dumps(row), flush=True)
        results["rates"].append(row)

    if burst:
        intents = [make() for _ in range(burst)]
        t0 = time.perf_counter()
        for it in intents:
            await send(it, t0)
        total += burst
        ids = [i.intent_id for i in intents]
        await _wait_for(lambda ids=ids: all(i in watcher.accepted for i in ids), 120)
        done = [watcher.accepted[i] for i in ids if i in watcher.accepted]
        lat = np.array(watcher.latencies(ids)) * 1000
        results["burst"] = {"intents": burst, "accepted": len(done),
                            "seconds": round(max(done) - t0, 2) if done else None,
                            "per_s": round(len(done) / (max(done) - t0), 1) if done else None,
                            "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
                            "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None}
        print(json.dumps({"burst": results["burst"]}), flush=True)

    await asyncio.sleep(1.0)  # a late duplicate would show up by now
    orders = 0
    async with httpx.AsyncClient(base_url=sim_rest) as admin:
        for client_id, _ in clients:
            orders += (await admin.get(f"/sim/clients/{client_id}")).json()["orders"]
    results["accounts"] = len(clients)
    results["intents"] = total
    results["accepted"] = len(watcher.accepted)
    results["broker_orders"] = orders
    results["duplicates"] = orders - len(watcher.accepted)
    results["lost"] = total - len(watcher.accepted)
    results["refused"] = watcher.other
    await nc.drain()
    return results


async def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-brk-"))
    load_start = os.getloadavg()
    sim = brk = None
    try:
        with start_nats(base / "nats") as ns, start_postgres(base / "pg", durable=False) as pg, \
                start_redis(base / "redis") as rd:
            await create_database(pg.url, "bench_brokerage")
            dsn = await create_service_role(pg.url, "bench_brokerage", "brokerage",
                                            role="bench_brokerage")
            rest, feed, order = free_port(), free_port(), free_port()
            sim = _spawn([sys.executable, "-m", "dhansim", "--rest-port", str(rest), "--feed-port",
                          str(feed), "--order-port", str(order), "--no-rate-limits"],
                         {"DHANSIM_LOG_LEVEL": "WARNING"}, base / "dhansim.log")
            sim_rest = f"http://127.0.0.1:{rest}"
            wait_for(lambda: http_status(sim_rest + "/sim/clock") == 200, 60, "dhansim")
            async with httpx.AsyncClient(base_url=sim_rest) as admin:
                clock = (await admin.put("/sim/clock", json={"paused": True})).json()
                made = (await admin.post("/sim/clients", json={"funds": 1e12})).json()
                clients = [(made["dhanClientId"], made["accessToken"])]
                for _ in range(args.accounts - 1):
                    more = (await admin.post("/sim/clients", json={"funds": 1e12})).json()
                    clients.append((more["dhanClientId"], more["accessToken"]))
                ltp = (await admin.post("/v2/marketfeed/ltp", json={"NSE_EQ": [int(SECURITY_ID)]},
                                        headers={"access-token": made["accessToken"],
                                                 "client-id": made["dhanClientId"]})).json()
            last = float(ltp["data"]["NSE_EQ"][SECURITY_ID]["last_price"])
            price = round(last * 0.97 / 0.05) * 5  # paise, on the 0.05 tick
            ops = free_port()
            env = {"BROKERAGE_NATS_URL": ns.url, "BROKERAGE_DATABASE_URL": dsn,
                   "BROKERAGE_REDIS_URL": rd.url, "BROKERAGE_REDIS_PREFIX": "bench:",
                   "BROKERAGE_CREDENTIAL_KEYS": KeyRing.generate("k1"),
                   "BROKERAGE_DHAN_API_BASE": sim_rest + "/v2",
                   "BROKERAGE_DHAN_AUTH_BASE": sim_rest,
                   "BROKERAGE_DHAN_ORDER_WS_URL": f"ws://127.0.0.1:{order}",
                   "BROKERAGE_CLOCK_URL": sim_rest + "/sim/clock",
                   "BROKERAGE_PACING_ENABLED": "false", "BROKERAGE_ENVIRONMENT": "dev",
                   "BROKERAGE_LOG_LEVEL": "WARNING", "BROKERAGE_OPS_PORT": str(ops),
                   "OTEL_SDK_DISABLED": "true"}
            subprocess.run([sys.executable, "-m", "brokerage", "migrate"],  # noqa: ASYNC221 (setup)
                           env={**os.environ, **env}, check=True, capture_output=True)
            brk = _spawn([sys.executable, "-m", "brokerage", "serve"], env, base / "brokerage.log")
            try:
                wait_for(lambda: http_status(f"http://127.0.0.1:{ops}/readyz") == 200, 60,
                         "brokerage")
                ts_event = datetime.fromisoformat(clock["now"])
                res = await _run(ns.url, sim_rest, ts_event, clients,
                                 [int(x) for x in args.rates.split(",") if x], args.seconds,
                                 args.burst, price)
            finally:  # the services go before the servers they use
                _stop(brk)
                _stop(sim)
    finally:
        _stop(brk)
        _stop(sim)
        if args.keep:
            print(f"logs kept in {base}")
        else:
            remove_cluster(base / "pg")
            shutil.rmtree(base, ignore_errors=True)
    res["load_start"], res["load_end"] = load_start, os.getloadavg()
    print(json.dumps({k: v for k, v in res.items() if k not in ("rates", "burst")}), flush=True)
    if args.write:
        _write(res, args)


def _write(res: dict, args: argparse.Namespace) -> None:
    def load(xs: tuple) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    lines = [
        "# Brokerage benchmark results", "",
        ("Recorded by `bench/brokerage/run.py --write` (the docstring describes the setup: "
        "brokerage and the Dhan simulator as their own processes, pacing off, LIMIT intents "
        "that rest, latency from the scheduled send to `order.accepted`)."), "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} CPUs, {_cpu()}; python {sys.version.split()[0]}",
        (f"- Load average at the start {load(res['load_start'])}, at the end "
        f"{load(res['load_end'])}"),
        (f"- Command: `uv run python bench/brokerage/run.py --accounts {args.accounts} --rates "
        f"{args.rates} --seconds {args.seconds:g} --burst {args.burst} --write`"),
        (f"- {args.accounts} linked simulator accounts, intents spread round-robin (brokerage "
        "sends one intent at a time per account, accounts in parallel)"), "",
        ("| offered intents/s | intents | accepted | →placed p50 ms | p99 ms | →accepted p50 ms |"
        " p99 ms | max ms |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["rates"]:
        lines.append(f"| {r['rate']} | {r['intents']} | {r['accepted']} | {r['placed_p50_ms']} | "
                     f"{r['placed_p99_ms']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |")
    if "burst" in res:
        bu = res["burst"]
        lines += ["", (f"Burst: {bu['intents']} intents published at once, {bu['accepted']} "
                  f"accepted in {bu['seconds']} s = **{bu['per_s']} intents/s** sustained "
                  f"(p50 {bu['p50_ms']} ms, p99 {bu['p99_ms']} ms from publish, queueing "
                  "included).")]
    lines += ["", (f"Exactly once: {res['intents']} intents sent, {res['accepted']} accepted, "
              f"{res['broker_orders']} orders at the simulator: **{res['duplicates']} "
              f"duplicates, {res['lost']} lost**; refused: {res['refused'] or 'none'}.")]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10, help="linked simulator accounts")
    ap.add_argument("--rates", default="25,50,100", help="offered intents/s, comma separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each rate")
    ap.add_argument("--burst", type=int, default=1000, help="intents sent at once (0: none)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    ap.add_argument("--write", action="store_true", help="write RESULTS.md")
    asyncio.run(main(ap.parse_args()))

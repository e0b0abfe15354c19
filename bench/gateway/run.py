"""Benchmark: authenticated GET /api/user/profile through gateway -> NATS -> auth, and login.

Starts its own embedded NATS, PostgreSQL and Redis (from the wheels, under a temp dir) and
the real `auth` and `gateway` processes through the launcher library, then:

1. drives GET /api/user/profile open-loop at fixed request rates (latency is measured from
   each request's *scheduled* send time, so a stalled server cannot hide its queueing delay:
   no coordinated omission), and reports achieved throughput and p50/p90/p99/max;
2. measures login throughput at the production argon2id cost (the cost is printed).

Usage: uv run python bench/gateway/run.py [--rates 100,250,500,750] [--seconds 10]
Writes bench/gateway/RESULTS.md (appends a dated section).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as pyplatform
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from svckit.devrun.manifest import Manifest, Process
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform
from svckit.infra.nats import start_nats
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.infra.probe import free_port
from svckit.infra.redis import start_redis

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Bench-password-42"


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class RawHttp:
    """A lean HTTP/1.1 keep-alive client for one GET: the load generator, not the subject.

    httpx costs about a millisecond of CPU per request, and the generator shares the two
    cores with everything it measures; this one writes pre-encoded request bytes and parses
    only the status line and Content-Length, so nearly all the CPU goes to the platform.
    """

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self._host, self._port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def get(self) -> int:
        """Send the request on an idle connection (or a new one) and return the status.

        A kept-alive connection the server closed while idle (uvicorn's keep-alive timeout)
        fails at once; like a browser, retry such a request once on a fresh connection.
        """
        if self._idle:
            conn = self._idle.pop()
            try:
                return await self._exchange(*conn)
            except (ConnectionError, asyncio.IncompleteReadError):
                conn[1].close()
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._all.append(writer)
        return await self._exchange(reader, writer)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(self._request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if length:
            await reader.readexactly(length)
        self._idle.append((reader, writer))
        return status

    async def close(self) -> None:
        for writer in self._all:
            writer.close()


async def open_loop(url: str, headers: dict[str, str], rate: int, seconds: float) -> dict:
    """Send `rate` requests per second for `seconds`, each at its scheduled instant."""
    parsed = httpx.URL(url)
    http = RawHttp(parsed.host, parsed.port or 80, "/api/user/profile", headers)
    latencies: list[float] = []
    errors = 0
    failures: dict[str, int] = {}
    try:
        for _ in range(20):  # warm the connections and the server
            await http.get()
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        total = int(rate * seconds)

        async def one(scheduled: float) -> None:
            nonlocal errors
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status = await asyncio.wait_for(http.get(), 30)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                status = type(exc).__name__
            ok = status == 200
            if not ok:
                failures[str(status)] = failures.get(str(status), 0) + 1
            if not ok:
                errors += 1
            latencies.append(loop.time() - scheduled)

        tasks = [asyncio.create_task(one(start + i / rate)) for i in range(total)]
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    finally:
        await http.close()
    ms = [x * 1000 for x in latencies]
    return {
        "rate": rate, "sent": total, "errors": errors, "failures": failures, "achieved": total / elapsed,
        "p50": percentile(ms, 0.50), "p90": percentile(ms, 0.90), "p99": percentile(ms, 0.99),
        "max": max(ms), "mean": statistics.fmean(ms),
    }


async def login_throughput(url: str, emails: list[str], seconds: float) -> dict:
    """Log in as fast as one client per account can for `seconds`.

    One account per client: auth counts attempts per account *before* checking them, so
    parallel logins to one account are (rightly) throttled like parallel guesses.
    """
    done = 0
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=30,
                                     headers={"X-Forwarded-For": f"10.9.0.{i + 1}"}) as http:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await http.post("/api/auth/login",
                                    json={"email": emails[i], "password": PASSWORD})
                r.raise_for_status()
                lat.append((time.perf_counter() - t0) * 1000)
                done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(len(emails))))
    elapsed = time.perf_counter() - t0
    return {"logins": done, "per_s": done / elapsed, "p50": percentile(lat, 0.5),
            "p99": percentile(lat, 0.99)}


def start_platform(tmp: Path, http_port: int, argon_memory: int, argon_time: int):
    """Return (servers, platform) running auth and gateway on embedded servers."""
    nats_srv = start_nats(tmp / "nats")
    pg = start_postgres(tmp / "pg", durable=False)
    rds = start_redis(tmp / "redis")
    prefix = "bench:"
    auth = Process(
        name="auth", module="auth", env_prefix="AUTH_", schema="auth", ops_port=free_port(),
        env={"AUTH_JWT_PRIVATE_KEY_FILE": "{secret_file:jwt_signing_key}",
             "AUTH_DEV_SECRETS_DIR": str(tmp / "auth"),
             "AUTH_ARGON2_MEMORY_KIB": str(argon_memory), "AUTH_ARGON2_TIME_COST": str(argon_time),
             "AUTH_LOGIN_MAX_FAILURES_PER_IP": "100000", "AUTH_LOG_LEVEL": "WARNING"},
    )
    gateway = Process(
        name="gateway", module="gateway", env_prefix="GATEWAY_", ports=(http_port,),
        ops_port=free_port(),
        env={"GATEWAY_HTTP_PORT": str(http_port), "GATEWAY_REVOCATION_PREFIX": f"{prefix}auth:",
             "GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]', "GATEWAY_RATE_AUTH_IP": "1000000",
             "GATEWAY_RATE_USER": "100000000", "GATEWAY_LOG_LEVEL": "WARNING",
             "GATEWAY_WEB_DIST": str(tmp / "none")},
    )
    manifest = Manifest(processes=(auth, gateway), database="bench",
                        url=f"http://127.0.0.1:{http_port}", clock_url=None)
    log = (tmp / "platform.log").open("w")
    plat = Platform(manifest, nats_url=nats_srv.url, admin_dsn=pg.url, redis_url=rds.url,
                    run_dir=tmp, root=ROOT, role_prefix="bench_", redis_prefix=prefix,
                    console=Console(log, color=False), ready_timeout=90, grace=5)
    return (nats_srv, pg, rds), plat


def machine() -> str:
    """Describe this machine."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {pyplatform.python_version()}, {pyplatform.system()}"


async def run(rates: list[int], seconds: float, login_seconds: float) -> str:
    """Run both benchmarks and return a Markdown section."""
    argon_memory, argon_time = 19 * 1024, 2  # services/auth defaults (OWASP baseline)
    http_port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as d:
        tmp = Path(d)
        servers, plat = start_platform(tmp, http_port, argon_memory, argon_time)
        try:
            with plat:
                url = f"http://127.0.0.1:{http_port}"
                emails = [f"bench-{secrets.token_hex(4)}@example.com" for _ in range(8)]
                email = emails[0]
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    for address in emails:
                        r = await http.post("/api/auth/register", json={
                            "email": address, "password": PASSWORD, "name": "Bench"})
                        r.raise_for_status()
                    r = await http.post("/api/auth/login",
                                    json={"email": email, "password": PASSWORD})
                    token = r.json()["tokens"]["accessToken"]
                headers = {"Authorization": f"Bearer {token}"}
                rows = []
                for rate in rates:
                    res = await open_loop(url, headers, rate, seconds)
                    rows.append(res)
                    print(f"profile @ {rate}/s: {res}", file=sys.stderr)
                login = await login_throughput(url, emails, login_seconds)
                print(f"login: {login}", file=sys.stderr)
        finally:
            for srv in reversed(servers):
                srv.stop()
            remove_cluster(tmp / "pg")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"## {now}", "", f"Machine: {machine()}. Load generator (a lean "
           "raw-socket HTTP/1.1 client, open loop) on the same machine, so it competes with the "
           "platform for the same 2 cores.", "",
           f"### GET /api/user/profile (JWT verified in the gateway, NATS request to auth, "
           f"Postgres read), {seconds:g} s per rate", "",
           "| target req/s | achieved req/s | errors | p50 ms | p90 ms | p99 ms | max ms |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['rate']} | {r['achieved']:.0f} | {r['errors']} | {r['p50']:.2f} | "
                   f"{r['p90']:.2f} | {r['p99']:.2f} | {r['max']:.1f} |")
    out += ["", f"### POST /api/auth/login, 8 concurrent clients (one account each), {login_seconds:g} s", "",
            f"argon2id cost: memory {argon_memory // 1024} MiB, time cost {argon_time}, "
            "parallelism 1 (each login verifies one hash).", "",
            f"{login['logins']} logins, **{login['per_s']:.1f} logins/s**, "
            f"p50 {login['p50']:.0f} ms, p99 {login['p99']:.0f} ms.", ""]
    return "\n".join(out)


def main() -> None:
    """Parse arguments, run, and append the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="100,250,500,750")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--login-seconds", type=float, default=10.0)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    section = asyncio.run(run([int(x) for x in args.rates.split(",")], args.seconds,
                              args.login_seconds))
    print(section)
    if not args.no_record:
        results = Path(__file__).with_name("RESULTS.md")
        head = "" if results.exists() else (
            "# Gateway benchmark results\n\nTarget (issue 2): p99 under 20 ms at 500 requests/s "
            "on 2 cores. Produced by `uv run python bench/gateway/run.py`.\n\n")
        with results.open("a") as f:
            f.write(head + section + "\n")


if __name__ == "__main__":
    main()

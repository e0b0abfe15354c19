"""End-to-end fixtures: the REAL platform (platform.toml) on isolated NATS, Postgres, Redis.

One platform per session (starting it costs a few seconds); each test gets its own
client address (X-Forwarded-For through the trusted loopback proxy), so per-IP limits and
throttles of one test never touch another, and its own e-mail addresses.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
import websockets
from notify.mailsink import link_token
from svckit.devrun.manifest import Manifest, load_manifest
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform
from svckit.devrun.securenats import start_secured_nats
from svckit.infra.pgadmin import drop_database, drop_role, run_sync
from svckit.infra.probe import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "root-admin@example.com"
ADMIN_PASSWORD = "Adm1n-e2e-password"
PASSWORD = "Corr3ct-horse-battery"
# platform.toml's gateway port and the mail sink's (notify.mailsink's defaults)
APP_PORT, SMTP_PORT, MAIL_HTTP_PORT = 8080, 1025, 8025
MARKET_SPEED = 3  # simulated market seconds per wall second
_ips = itertools.count(1)


@dataclass
class E2E:
    """The running platform as a test sees it."""

    url: str
    nats_url: str
    platform: Platform
    redis_prefix: str
    log_file: Path
    ports: dict[int, int]  # platform.toml's port -> this platform's
    sim_url: str | None = None  # the Dhan simulator's REST/admin base, when it runs

    def stop(self, name: str) -> None:
        """Stop one process (SIGTERM, then wait) while the others keep running."""
        from svckit.infra.procs import stop_process

        for run in self.platform.running:
            if run.spec.name == name:
                stop_process(run.popen, grace=3)

    def runs(self, module: str) -> bool:
        """Tell whether the platform started a process of this module."""
        return any(run.spec.module == module for run in self.platform.running)

    @property
    def mail_url(self) -> str:
        """Return the base URL of the mail sink's web view (when notify.mailsink runs)."""
        return f"http://127.0.0.1:{self.ports[MAIL_HTTP_PORT]}"


def _remap(text: str, ports: dict[int, int]) -> str:
    """Move every `:<port>` (and a bare port value) of platform.toml onto its e2e port."""
    if text.isdigit():
        return str(ports.get(int(text), text))
    return re.sub(r"(?<=:)(\d{2,5})\b", lambda m: str(ports.get(int(m[1]), m[1])), text)


def _overrides(run_dir: Path, ports: dict[int, int], prefix: str) -> dict[str, dict[str, str]]:
    """Return the e2e settings each process (by module) gets on top of platform.toml's."""
    app = f"http://127.0.0.1:{ports[APP_PORT]}"
    return {
        "auth": {
            "AUTH_DEV_SECRETS_DIR": str(run_dir / "auth"),
            "AUTH_ADMIN_EMAIL": ADMIN_EMAIL,
            "AUTH_ADMIN_PASSWORD_FILE": str(run_dir / "admin-password"),
            "AUTH_APP_BASE_URL": app,
            "AUTH_ARGON2_MEMORY_KIB": "8192",
            "AUTH_ARGON2_TIME_COST": "1",
            "AUTH_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3",
            "AUTH_FORGOT_PASSWORD_MIN_REPLY_S": "0.05",
        },
        "gateway": {
            # the launcher gives each process its own prefix; revocations are auth's keys
            "GATEWAY_REVOCATION_PREFIX": f"{prefix}auth:",
            "GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]',
            "GATEWAY_RATE_AUTH_IP": "25",
            "GATEWAY_RATE_USER": "300",
            "GATEWAY_WS_REVOCATION_CHECK_S": "0.3",
            "GATEWAY_NATS_TIMEOUT_S": "3",
            "GATEWAY_WEB_DIST": str(run_dir / "no-web-dist"),
        },
        # tests place bursts of orders; Dhan's per-second limits are not under test here.
        # The market runs at 3x so a 1-minute bar closes every 20 s (a deployment's first
        # signal comes within the per-test timeout); the session still lasts two hours.
        "dhansim": {"DHANSIM_RATE_LIMITS": "0", "DHANSIM_SPEED": str(MARKET_SPEED)},
        # an intent is "stale" after 30 s of market time: at 3x that is only 10 s of a
        # loaded test machine's time
        "brokerage": {"BROKERAGE_STALE_INTENT_S": str(30 * MARKET_SPEED)},
        # paper accounts fill on RELIANCE ticks; keep it on the feed without a lease
        "marketdata": {"MARKETDATA_ALWAYS_SUBSCRIBE": '["NSE_EQ:2885"]'},
        # mail goes to this platform's sink (or to a port nobody serves), never to the
        # machine's own sink on the default port
        "notify": {"NOTIFY_APP_BASE_URL": app, "NOTIFY_SMTP_HOST": "127.0.0.1",
                   "NOTIFY_SMTP_PORT": str(ports[SMTP_PORT])},
        "notify.mailsink": {"MAILSINK_SMTP_PORT": str(ports[SMTP_PORT]),
                            "MAILSINK_HTTP_PORT": str(ports[MAIL_HTTP_PORT]),
                            "MAILSINK_DIR": str(run_dir / "mail")},
    }


def e2e_manifest(run_dir: Path, tag: str, prefix: str,
                 env: dict[str, dict[str, str]] | None = None) -> tuple[Manifest, dict[int, int]]:
    """Return platform.toml's processes on free ports, with the e2e settings on top, and the
    map from platform.toml's ports to the e2e ones.

    A service joins the end-to-end platform the moment the lead adds it to platform.toml
    (and its package is installed); only what must differ under test is overridden here.
    """
    base = load_manifest(ROOT / "platform.toml")
    ports = {old: free_port() for p in base.processes for old in p.ports}
    ports.setdefault(urllib.parse.urlparse(base.url).port or 80, free_port())
    for old in (APP_PORT, SMTP_PORT, MAIL_HTTP_PORT):
        ports.setdefault(old, free_port())
    extra = _overrides(run_dir, ports, prefix)
    for module, values in (env or {}).items():  # a test's own platform settings on top
        extra[module] = {**extra.get(module, {}), **values}
    procs = []
    for p in base.processes:
        env = {k: _remap(v, ports) for k, v in p.env.items()}
        if p.module == "dhansim":
            rest, feed, order = (ports[old] for old in p.ports)
            env.update(DHANSIM_REST_PORT=str(rest), DHANSIM_FEED_PORT=str(feed),
                       DHANSIM_ORDER_PORT=str(order))
        env.update(extra.get(p.module, {}))
        procs.append(replace(p, ports=tuple(ports[o] for o in p.ports), ops_port=free_port(),
                             ready=_remap(p.ready, ports), env=env,
                             args=tuple(_remap(a, ports) for a in p.args)))
    clock = _remap(base.clock_url, ports) if base.clock_url else None
    manifest = Manifest(processes=tuple(procs), database=f"e2e_{tag}",
                        url=_remap(base.url, ports), clock_url=clock)
    return manifest, ports


class WavePlatform(Platform):
    """Start the processes in three waves instead of one by one, to keep the suite short.

    Each Python service spends seconds importing; side by side those overlap. The servers
    others dial at start (the simulator with its clock, the mail sink) come first, the
    gateway (it loads auth's signing keys at start) last, and every service in between
    starts at once: each needs only NATS, its database and the clock when it starts.
    """

    def start(self) -> None:
        """Provision as the launcher does, then start and await each wave in turn."""
        procs = [p for p in self.manifest.processes if p.importable()]
        self._check_ports(procs)
        dsns = self._provision_databases(procs)
        first = [p for p in procs if p.provides_clock or p.ready.startswith("http")]
        last = [p for p in procs if p.name == "gateway"]
        middle = [p for p in procs if p not in first and p not in last]
        for wave in (first, middle, last):
            runs = [self._launch(p, dsns.get(p.name)) for p in wave]
            for run in runs:
                self._wait_ready(run)
                self.console.say(f"{run.spec.name} is ready (pid {run.popen.pid})")
        self.start_sidecars()


@contextmanager
def running_platform(pg_admin_dsn: str, redis_url: str,
                     tmp_path_factory: pytest.TempPathFactory,
                     env: dict[str, dict[str, str]] | None = None) -> Iterator[E2E]:
    """Start platform.toml's processes on their own NATS, database, roles and Redis prefix."""
    tag = secrets.token_hex(4)
    run_dir = tmp_path_factory.mktemp(f"e2e-{tag}")
    (run_dir / "admin-password").write_text(ADMIN_PASSWORD)
    prefix = f"e2e:{tag}:"
    manifest, ports = e2e_manifest(run_dir, tag, prefix, env)
    sim_url = manifest.clock_url.removesuffix("/sim/clock") if manifest.clock_url else None
    log_file = run_dir / "platform.log"
    # the services connect as their own NATS users, as with `make run` and in Kubernetes
    nats_server, nats_users = start_secured_nats(run_dir / "nats", run_dir / "nats-auth")
    with nats_server, log_file.open("w") as log:
        platform = WavePlatform(manifest, nats_url=nats_server.url, admin_dsn=pg_admin_dsn,
                            nats_users=nats_users,
                            redis_url=redis_url, run_dir=run_dir, root=ROOT,
                            role_prefix=f"e2e{tag}_", redis_prefix=prefix,
                            console=Console(log, color=False), ready_timeout=60, grace=3)
        try:
            with platform:
                yield E2E(manifest.url, nats_server.url, platform, prefix, log_file, ports, sim_url)
        finally:
            run_sync(drop_database(pg_admin_dsn, manifest.database))
            for p in manifest.processes:
                if p.schema:
                    run_sync(drop_role(pg_admin_dsn, f"e2e{tag}_{p.name}"))
            _delete_keys(redis_url, prefix)


def _delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
    finally:
        client.close()


@pytest.fixture(scope="session")
def e2e(pg_admin_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[E2E]:
    """Give the whole session one platform (tests isolate themselves by user and address)."""
    # (test_outage stops auth; pytest_collection_modifyitems runs it last.)
    with running_platform(pg_admin_dsn, redis_url, tmp_path_factory) as e2e:
        yield e2e


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that stop a platform service."""
    config.addinivalue_line("markers", "stops_services: stops a service of the shared platform")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests that stop a service last, so the shared platform serves everything before."""
    items.sort(key=lambda item: item.get_closest_marker("stops_services") is not None)


class Api:
    """An HTTP client of the gateway, with the flows most tests need."""

    def __init__(self, e2e: E2E) -> None:
        self.e2e = e2e
        self.http: httpx.AsyncClient

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        """Return the Authorization header of an access token."""
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
        """Assert an error response in the §6 shape (no stack trace) and return its body."""
        assert r.status_code == status, r.text
        body = r.json()
        assert body["error"] == code and body["code"] == status and body["message"], body
        assert "Traceback" not in r.text
        return body

    def client(self, ip: str | None = None) -> httpx.AsyncClient:
        """Return a new client (own cookie jar, own address); close it with `async with`."""
        n = next(_ips)
        return httpx.AsyncClient(
            base_url=self.e2e.url, timeout=10,
            headers={"X-Forwarded-For": ip or f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"})

    @staticmethod
    def email(label: str = "user") -> str:
        """Return a fresh e-mail address."""
        return f"{label}-{secrets.token_hex(4)}@example.com"

    async def register(self, email: str, password: str = PASSWORD, name: str = "Test User",
                       http: httpx.AsyncClient | None = None) -> dict:
        """Register and return the new user."""
        r = await (http or self.http).post("/api/auth/register", json={
            "email": email, "password": password, "name": name})
        assert r.status_code == 201, r.text
        return r.json()

    async def login(self, email: str, password: str = PASSWORD,
                    http: httpx.AsyncClient | None = None) -> str:
        """Sign in (no 2FA) and return the access token."""
        r = await (http or self.http).post("/api/auth/login", json={
            "email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["tokens"]["accessToken"]

    async def signup(self, label: str = "user", http: httpx.AsyncClient | None = None
                     ) -> tuple[str, str, dict]:
        """Register a fresh user and sign in; return (email, access token, user)."""
        email = self.email(label)
        user = await self.register(email, http=http)
        return email, await self.login(email, http=http), user

    async def verified_signup(self, label: str = "user", http: httpx.AsyncClient | None = None
                              ) -> tuple[str, str, dict]:
        """Register, verify the e-mail with the mailed link, sign in; return (email, token, user)."""
        email = self.email(label)
        user = await self.register(email, http=http)
        token = await self.mailed_token(email, "email_verification_requested")
        r = await (http or self.http).post("/api/auth/verify-email", json={"token": token})
        assert r.status_code == 200, r.text
        return email, await self.login(email, http=http), user

    async def until(self, call: Callable[[], Awaitable[httpx.Response]],
                    done: Callable[[Any], bool], timeout: float = 15.0, what: str = "") -> Any:
        """Repeat a GET-like call until its 200 JSON body satisfies `done`; return that body."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            r = await call()
            assert r.status_code == 200, r.text
            body = r.json()
            if done(body):
                return body
            assert loop.time() < deadline, f"gave up waiting for {what or 'a condition'}: {body}"
            await asyncio.sleep(0.1)

    @asynccontextmanager
    async def socket(self, token: str) -> AsyncIterator[Any]:
        """Open the gateway's /ws as this user (after its `ready`); close it afterwards."""
        ws = await websockets.connect(self.e2e.url.replace("http://", "ws://") + "/ws")
        try:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
            yield ws
        finally:
            await ws.close()

    @staticmethod
    async def pushed(ws: Any, done: Callable[[dict], bool], timeout: float = 15.0
                     ) -> list[dict]:
        """Collect the events pushed on a socket until one satisfies `done`; return them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list[dict] = []
        while not seen or not done(seen[-1]):
            left = deadline - loop.time()
            assert left > 0, f"no such event; got {[m['subject'] for m in seen]}"
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), left))
            if msg["type"] == "event":
                seen.append(msg)
        return seen

    async def sim_client(self, funds: int = 1_000_000) -> tuple[str, str]:
        """Open an account at the simulated Dhan; return (dhanClientId, accessToken)."""
        assert self.e2e.sim_url, "the platform runs no Dhan simulator"
        async with httpx.AsyncClient(base_url=self.e2e.sim_url, timeout=10) as sim:
            r = await sim.post("/sim/clients", json={"funds": funds})
        assert r.status_code == 201, r.text
        return r.json()["dhanClientId"], r.json()["accessToken"]

    async def sim_ltp(self, client_id: str, token: str, security_id: str = "2885") -> Decimal:
        """Return an equity's last price as Dhan quotes it to this client."""
        async with httpx.AsyncClient(base_url=f"{self.e2e.sim_url}/v2", timeout=10, headers={
                "access-token": token, "client-id": client_id}) as sim:
            r = await sim.post("/marketfeed/ltp", json={"NSE_EQ": [int(security_id)]})
        assert r.status_code == 200, r.text
        return Decimal(str(r.json()["data"]["NSE_EQ"][security_id]["last_price"]))

    async def admin_token(self) -> str:
        """Sign in as the configured first admin."""
        async with self.client() as http:
            return await self.login(ADMIN_EMAIL, ADMIN_PASSWORD, http=http)

    async def mailed_token(self, email: str, event: str, timeout: float = 15.0) -> str:
        """Return the token of the newest link mailed to `email`, read from the mail sink
        as the user would (the link's events travel on `mail.`, which notify consumes)."""
        kind = {"email_verification_requested": "verify-email",
                "password_reset_requested": "reset-password"}[event]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=self.e2e.mail_url, timeout=5) as sink:
            while True:
                token = link_token((await sink.get("/api/messages")).json(), email, kind)
                if token:
                    return token
                assert loop.time() < deadline, f"no {kind} mail to {email}"
                await asyncio.sleep(0.1)  # polling the sink with a deadline


@pytest.fixture
async def api(e2e: E2E) -> AsyncIterator[Api]:
    api = Api(e2e)
    async with api.client() as http:
        api.http = http
        yield api

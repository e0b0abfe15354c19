"""Browser fixtures: the REAL processes (dhansim, auth, brokerage, marketdata, backtest,
execution, mailsink, notify, gateway serving web/dist) on isolated NATS, Postgres and Redis,
and Debian's Chromium driven by Playwright.

Skipped, with the reason, when /usr/bin/chromium or the built SPA (web/dist/index.html) is
missing: CI installs chromium and `make test` builds web/ first.
"""

from __future__ import annotations

import importlib.util
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from notify.mailsink import link_token
from svckit.devrun.manifest import Manifest, Process
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform
from svckit.devrun.securenats import start_secured_nats
from svckit.infra.pgadmin import drop_database, drop_role, run_sync
from svckit.infra.probe import free_port

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "Corr3ct-horse-battery"
ADMIN_EMAIL = "root-admin@example.com"
ADMIN_PASSWORD = "Adm1n-browser-password"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not (DIST / "index.html").exists():
        return "web/dist/index.html is missing (cd web && npm install && npm run build)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the browser tests, saying why, when Chromium or the built SPA is missing."""
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Site:
    """The running platform as a browser test sees it."""

    url: str
    nats_url: str
    sim_url: str
    platform: Platform
    mail_url: str

    def mailed_token(self, email: str, event: str, timeout: float = 15.0) -> str:
        """Return the token of the newest link mailed to `email`, from the mail sink's inbox
        (as the user reads it: the link's events travel on `mail.`, which notify consumes)."""
        kind = {"email_verification_requested": "verify-email",
                "password_reset_requested": "reset-password"}[event]
        deadline = time.monotonic() + timeout
        while True:
            messages = httpx.get(f"{self.mail_url}/api/messages", timeout=5).json()
            token = link_token(messages, email, kind)
            if token:
                return token
            assert time.monotonic() < deadline, f"no {kind} mail to {email}"
            time.sleep(0.1)  # polling the sink with a deadline

    def sim_client(self) -> dict:
        """Create a client on the Dhan simulator: {dhanClientId, accessToken, ...}."""
        r = httpx.post(f"{self.sim_url}/sim/clients", json={"funds": 1_000_000}, timeout=10)
        r.raise_for_status()
        return r.json()


@contextmanager
def running_site(pg_admin_dsn: str, redis_url: str, run_dir: Path) -> Iterator[Site]:
    """Start the platform's processes and the gateway (serving web/dist) on fresh ports."""
    tag = secrets.token_hex(4)
    (run_dir / "admin-password").write_text(ADMIN_PASSWORD)
    http_port, rest, feed, order = free_port(), free_port(), free_port(), free_port()
    prefix = f"browser:{tag}:"
    sim_url = f"http://127.0.0.1:{rest}"
    dhansim = Process(
        name="dhansim", module="dhansim", env_prefix="DHANSIM_", ports=(rest, feed, order),
        ready=f"{sim_url}/sim/clock", provides_clock=True,
        env={"DHANSIM_REST_PORT": str(rest), "DHANSIM_FEED_PORT": str(feed),
             "DHANSIM_ORDER_PORT": str(order)},
    )
    auth = Process(
        name="auth", module="auth", env_prefix="AUTH_", schema="auth", ops_port=free_port(),
        env={
            "AUTH_JWT_PRIVATE_KEY_FILE": "{secret_file:jwt_signing_key}",
            "AUTH_DEV_SECRETS_DIR": str(run_dir / "auth"),
            "AUTH_ADMIN_EMAIL": ADMIN_EMAIL,
            "AUTH_ADMIN_PASSWORD_FILE": str(run_dir / "admin-password"),
            "AUTH_APP_BASE_URL": f"http://127.0.0.1:{http_port}",
            "AUTH_ARGON2_MEMORY_KIB": "8192",
            "AUTH_ARGON2_TIME_COST": "1",
        },
    )
    brokerage = Process(
        name="brokerage", module="brokerage", env_prefix="BROKERAGE_", schema="brokerage",
        ops_port=free_port(),
        env={
            "BROKERAGE_CREDENTIAL_KEYS_FILE": "{secret_file:credential_keys}",
            "BROKERAGE_DHAN_API_BASE": f"{sim_url}/v2",
            "BROKERAGE_DHAN_AUTH_BASE": sim_url,
            "BROKERAGE_DHAN_ORDER_WS_URL": f"ws://127.0.0.1:{order}",
        },
    )
    marketdata = Process(
        name="marketdata", module="marketdata", env_prefix="MARKETDATA_", schema="marketdata",
        ops_port=free_port(),
        env={
            "MARKETDATA_DHAN_API_BASE": f"{sim_url}/v2",
            "MARKETDATA_DHAN_FEED_URL": f"ws://127.0.0.1:{feed}",
            "MARKETDATA_SCRIP_MASTER_URL": f"{sim_url}/api-data/api-scrip-master.csv",
        },
    )
    smtp, mail_http = free_port(), free_port()
    mailsink = Process(
        name="mailsink", module="notify.mailsink", env_prefix="MAILSINK_", ports=(smtp, mail_http),
        ready=f"http://127.0.0.1:{mail_http}/",
        env={"MAILSINK_SMTP_PORT": str(smtp), "MAILSINK_HTTP_PORT": str(mail_http),
             "MAILSINK_DIR": str(run_dir / "mail")},
    )
    notify = Process(
        name="notify", module="notify", env_prefix="NOTIFY_", schema="notify", ops_port=free_port(),
        env={"NOTIFY_SMTP_PORT": str(smtp), "NOTIFY_APP_BASE_URL": f"http://127.0.0.1:{http_port}",
             # as under `make run`: the webhook test delivers to a receiver on this machine
             "NOTIFY_WEBHOOK_ALLOW_PRIVATE": "true"},
    )
    backtest = Process(name="backtest", module="backtest", env_prefix="BACKTEST_",
                       schema="backtest", ops_port=free_port(), env={"BACKTEST_WORKERS": "1"})
    execution = Process(name="execution", module="execution", env_prefix="EXECUTION_",
                        schema="execution", ops_port=free_port())
    gateway = Process(
        name="gateway", module="gateway", env_prefix="GATEWAY_", ports=(http_port,),
        ops_port=free_port(),
        env={
            "GATEWAY_HTTP_PORT": str(http_port),
            "GATEWAY_REVOCATION_PREFIX": f"{prefix}auth:",
            "GATEWAY_WS_REVOCATION_CHECK_S": "0.5",
            # every browser comes from 127.0.0.1: the per-IP sign-in limit would throttle the suite
            "GATEWAY_RATE_AUTH_IP": "1000",
            "GATEWAY_NATS_TIMEOUT_S": "5",
            "GATEWAY_WEB_DIST": str(DIST),
        },
    )
    # A service joins once its package exists (as in platform.toml).
    processes = tuple(p for p in (dhansim, auth, brokerage, marketdata, backtest,
                                           execution, mailsink, notify, gateway)
                      if importlib.util.find_spec(p.module) is not None)
    manifest = Manifest(processes=processes, database=f"browser_{tag}",
                        url=f"http://127.0.0.1:{http_port}", clock_url=f"{sim_url}/sim/clock")
    # the services connect as their own NATS users, as with `make run` and in Kubernetes
    nats_server, nats_users = start_secured_nats(run_dir / "nats", run_dir / "nats-auth")
    with nats_server, (run_dir / "platform.log").open("w") as log:
        platform = Platform(manifest, nats_url=nats_server.url, admin_dsn=pg_admin_dsn,
                            nats_users=nats_users,
                            redis_url=redis_url, run_dir=run_dir, root=ROOT,
                            role_prefix=f"br{tag}_", redis_prefix=prefix,
                            console=Console(log, color=False), ready_timeout=60, grace=3)
        try:
            with platform:
                yield Site(manifest.url, nats_server.url, sim_url, platform,
                           f"http://127.0.0.1:{mail_http}")
        finally:
            run_sync(drop_database(pg_admin_dsn, manifest.database))
            for p in processes:
                if p.schema:
                    run_sync(drop_role(pg_admin_dsn, f"br{tag}_{p.name}"))
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
def site(pg_admin_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    """Give the browser tests one platform (each test signs up its own users)."""
    if _missing():
        pytest.skip(_missing())
    with running_site(pg_admin_dsn, redis_url, tmp_path_factory.mktemp("browser")) as s:
        yield s


@pytest.fixture(scope="session")
def browser(site: Site):
    """Launch Debian's Chromium once per session (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser, site: Site):
    """Open pages in fresh contexts (own cookies, like separate people); close them after."""
    contexts = []

    def make(width: int = 1280, height: int = 800):
        ctx = browser.new_context(base_url=site.url, viewport={"width": width, "height": height})
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    """Save a screenshot of the page under test-artifacts/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


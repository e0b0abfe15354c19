"""The NATS auth sidecar: keep nats-server's users in step with the event credentials.

Runs beside nats-server (a sidecar container in each NATS pod; the local launcher can run it
too). As the unrestricted `admin` user it asks auth for every live event credential
(`natsperms.EXPORT_EVENT_CREDENTIALS`) at start, whenever auth announces a change
(`natsperms.EVENT_CREDENTIALS_CHANGED`) and every `--interval` seconds as a safety net;
renders the `authorization` block with `contracts.natsperms.render_config` (service users
from their password files, third parties from the bcrypt hashes, the admin), writes it
atomically when it changed, and signals nats-server to reload (SIGHUP to the pid in its
pid file). A reload drops the connections of a revoked credential at once.

    python -m svckit.natsauth --nats-url nats://127.0.0.1:4222 \
        --admin-password-file /etc/nats/admin --passwords-dir /etc/nats/services \
        --out /etc/nats/auth/auth.conf --pid-file /var/run/nats/nats.pid

The server's own configuration `include`s the written file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import nats
from contracts import natsperms as P
from nats.aio.client import Client

from .logging import configure_logging, get_logger
from .nats import request

log = get_logger(__name__)


def signal_reload(pid_file: Path) -> None:
    """Ask the nats-server whose pid is in `pid_file` to reload its configuration."""
    os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)


def service_passwords(directory: Path) -> dict[str, str]:
    """Read one password file per service (named after it) from `directory`."""
    return {s: (directory / s).read_text().strip() for s in P.SERVICES
            if (directory / s).is_file()}


class AuthSync:
    """Render the users from auth's grants and reload the server when they changed."""

    def __init__(self, nc: Client, out: Path, passwords: dict[str, str],
                 admin_password: str | None, reload: Callable[[], None],
                 timeout_s: float = 5.0) -> None:
        self._nc = nc
        self._out = out
        self._passwords = passwords
        self._admin = admin_password
        self._reload = reload
        self._timeout = timeout_s
        self._lock = asyncio.Lock()
        self.debounce_s = 0.25

    async def sync_once(self) -> bool:
        """Fetch the grants, write the file if it changed, reload; return whether it did."""
        async with self._lock:
            raw = await request(self._nc, P.EXPORT_EVENT_CREDENTIALS, None, timeout=self._timeout)
            grants = [P.EventCredentialGrant.model_validate(g) for g in raw]
            text = P.render_config(P.NatsAuthConfig(
                self._passwords, [P.ThirdPartyGrant(g.id, g.user_id, g.password_hash)
                                  for g in grants], self._admin))
            if self._out.is_file() and self._out.read_text() == text:
                return False
            tmp = self._out.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.chmod(0o600)
            tmp.replace(self._out)  # the server never reads half a file
            self._reload()
            log.info("natsauth.reloaded", credentials=len(grants))
            return True

    async def run(self, interval_s: float = 60.0) -> None:
        """Sync now, on every change announcement, and every `interval_s`, until cancelled."""
        wake = asyncio.Event()

        async def on_change(_msg) -> None:
            wake.set()

        sub = await self._nc.subscribe(P.EVENT_CREDENTIALS_CHANGED, cb=on_change)
        try:
            while True:
                wake.clear()
                try:
                    await self.sync_once()
                except Exception as exc:  # noqa: BLE001 - auth may be restarting; retry soon
                    log.warning("natsauth.sync_failed", error=str(exc))
                    interval = min(interval_s, 2.0)
                else:
                    interval = interval_s
                try:
                    async with asyncio.timeout(interval):
                        await wake.wait()
                    # coalesce a burst of changes, and let the reply to the request that
                    # caused this one leave before the reload (a reload can drop replies)
                    await asyncio.sleep(self.debounce_s)
                except TimeoutError:
                    pass
        finally:
            await sub.unsubscribe()


async def _main(args: argparse.Namespace) -> None:
    admin = args.admin_password_file.read_text().strip()
    # the reload drops and re-admits this connection too: let it reconnect for ever
    nc = await nats.connect(args.nats_url, user="admin", password=admin,
                            max_reconnect_attempts=-1, name="natsauth")
    sync = AuthSync(nc, args.out, service_passwords(args.passwords_dir), admin,
                    lambda: signal_reload(args.pid_file))
    try:
        await sync.run(args.interval)
    finally:
        await nc.drain()


def main(argv: list[str] | None = None) -> None:
    """Entry point: `python -m svckit.natsauth ...` (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m svckit.natsauth", description=__doc__.split("\n")[0])
    ap.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    ap.add_argument("--admin-password-file", type=Path, required=True)
    ap.add_argument("--passwords-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pid-file", type=Path, required=True)
    ap.add_argument("--interval", type=float, default=60.0)
    args = ap.parse_args(argv)
    configure_logging("natsauth", os.environ.get("LOG_LEVEL", "INFO"), None)
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()

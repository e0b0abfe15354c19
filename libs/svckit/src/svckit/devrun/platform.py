"""The launcher as a library: start the manifest's processes against given servers.

`make run` uses it with the reused or embedded servers of `.run/`; end-to-end tests use it
with their own isolated servers, a unique database and role prefix, and other ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from svckit.devrun.manifest import Manifest, Process
from svckit.devrun.output import Console, Pump
from svckit.devrun.secrets import SecretStore
from svckit.devrun.securenats import NatsUsers
from svckit.infra.pgadmin import create_database, create_service_role, run_sync
from svckit.infra.probe import LOOPBACK, http_status, port_open
from svckit.infra.procs import has_exited, spawn, stop_process


class PlatformError(RuntimeError):
    """A process could not start, never became ready, or died."""


@dataclass
class Running:
    """A started process."""

    spec: Process
    popen: subprocess.Popen[bytes]
    pump: Pump
    ops_port: int


class Platform:
    """Start every importable process of a manifest in order; stop them in reverse."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        nats_url: str,
        admin_dsn: str,
        redis_url: str,
        run_dir: Path,
        nats_users: NatsUsers | None = None,
        root: Path | None = None,
        database: str | None = None,
        role_prefix: str = "",
        redis_prefix: str = "",
        environment: str = "dev",
        env: Mapping[str, str] | None = None,
        console: Console | None = None,
        ready_timeout: float = 60.0,
        grace: float = 10.0,
        python: str = sys.executable,
    ) -> None:
        self.manifest = manifest
        self.nats_url, self.admin_dsn, self.redis_url = nats_url, admin_dsn, redis_url
        self.nats_users = nats_users
        self.run_dir = run_dir
        self.root = root or Path.cwd()
        self.database = database or manifest.database
        self.role_prefix, self.redis_prefix = role_prefix, redis_prefix
        self.environment = environment
        self.base_env = dict(os.environ if env is None else env)
        self.console = console or Console(sys.stdout)
        self.ready_timeout, self.grace, self.python = ready_timeout, grace, python
        self.secrets = SecretStore(run_dir / "secrets")
        self.running: list[Running] = []
        self._wake = threading.Event()
        self._stop = threading.Event()

    # -- starting --------------------------------------------------------------------------

    def start(self) -> None:
        """Provision databases and secrets, then start each process and wait until it is ready."""
        procs = []
        for p in self.manifest.processes:
            if p.importable():
                procs.append(p)
            else:
                self.console.say(f"skipping {p.name}: python module {p.module!r} is not installed")
        self._check_ports(procs)
        dsns = self._provision_databases(procs)
        for p in procs:
            run = self._launch(p, dsns.get(p.name))
            self._wait_ready(run)
            self.console.say(f"{p.name} is ready (pid {run.popen.pid})")
        self.start_sidecars()

    def start_sidecars(self) -> None:
        """Start what keeps the servers in step with the services (after `auth` is up).

        With per-service NATS users, that is the auth sidecar: it adds the users' event
        credentials to nats-server and reloads it whenever auth announces a change.
        """
        if self.nats_users is not None:
            run = self._launch(self.nats_users.sidecar(self.nats_url), None)
            self.console.say(f"natsauth started (pid {run.popen.pid})")

    def _check_ports(self, procs: list[Process]) -> None:
        for p in procs:
            for port in (*p.ports, self.manifest.ops_port(p)):
                if port_open(LOOPBACK, port, timeout=0.2):
                    raise PlatformError(
                        f"port {port} (needed by {p.name}) is already in use: another "
                        f"platform or program holds it; stop it or change the port in the manifest")

    def _provision_databases(self, procs: list[Process]) -> dict[str, str]:
        with_schema = [p for p in procs if p.schema]
        if not with_schema:
            return {}
        run_sync(create_database(self.admin_dsn, self.database))
        dsns = {}
        for p in with_schema:
            role = f"{self.role_prefix}{p.name}"
            password = self.secrets.db_password(role)
            dsns[p.name] = run_sync(create_service_role(
                self.admin_dsn, self.database, p.schema or p.name, role=role, password=password))
            self.console.say(f"{p.name}: role {role} owns schema {p.schema} in {self.database}")
        return dsns

    def child_env(self, p: Process, dsn: str | None) -> dict[str, str]:
        """Return the environment a process starts with."""
        pre = p.env_prefix
        env = dict(self.base_env)
        env.update({
            "PYTHONUNBUFFERED": "1",
            f"{pre}SERVICE_NAME": p.name,
            f"{pre}NATS_URL": self.nats_url,
            f"{pre}REDIS_URL": self.redis_url,
            f"{pre}REDIS_PREFIX": f"{self.redis_prefix}{p.name}:",
            f"{pre}ENVIRONMENT": self.environment,
            f"{pre}OPS_PORT": str(self.manifest.ops_port(p)),
        })
        if self.nats_users is not None:
            env.update(self.nats_users.env_for(p.name, pre))
        if dsn is not None:
            env[f"{pre}DATABASE_URL"] = dsn
            env[f"{pre}DB_SCHEMA"] = p.schema or p.name
        if self.manifest.clock_url and not p.provides_clock:
            env[f"{pre}CLOCK_URL"] = self.manifest.clock_url
        for key, value in p.env.items():
            env[key] = self.secrets.expand(value, root=self.root, run_dir=self.run_dir,
                                           redis_prefix=self.redis_prefix)
        return env

    def _launch(self, p: Process, dsn: str | None) -> Running:
        popen = spawn([self.python, "-m", p.module, *p.args], env=self.child_env(p, dsn),
                      cwd=self.root, stdout=subprocess.PIPE)
        assert popen.stdout is not None
        run = Running(p, popen, Pump(p.name, popen.stdout, self.console, self._wake),
                      self.manifest.ops_port(p))
        self.running.append(run)
        return run

    def _is_ready(self, run: Running) -> bool:
        ready = run.spec.ready
        if ready == "none":
            return True
        if ready.startswith("tcp:"):
            return port_open(LOOPBACK, int(ready[4:]), timeout=0.3)
        url = f"http://{LOOPBACK}:{run.ops_port}/readyz" if ready == "ops" else ready
        status = http_status(url, timeout=0.5)
        return status is not None and 200 <= status < 400

    def _wait_ready(self, run: Running) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not self._is_ready(run):
            if has_exited(run.popen):
                raise PlatformError(self._death_note(run, "while starting"))
            if self._stop.is_set():
                raise PlatformError("stopped while starting")
            if time.monotonic() >= deadline:
                raise PlatformError(f"{run.spec.name} not ready after {self.ready_timeout:.0f}s")
            self._stop.wait(0.05)

    def _death_note(self, run: Running, when: str) -> str:
        # Reap through stop_process so what the process left in its group is killed too
        # (a grandchild holding the output pipe would otherwise keep the pump waiting).
        code = stop_process(run.popen, grace=0)
        run.pump.join()
        last = "\n".join(f"    {line}" for line in list(run.pump.last)[-15:])
        return f"{run.spec.name} exited with code {code} {when}; its last lines:\n{last}"

    # -- running and stopping --------------------------------------------------------------

    def wait(self) -> int:
        """Block until stop is requested (return 0) or a process dies (return 1)."""
        while not self._stop.is_set():
            for run in self.running:
                if has_exited(run.popen):
                    self.console.say(self._death_note(run, "unexpectedly"))
                    return 1
            self._wake.wait(0.5)
            self._wake.clear()
        return 0

    def request_stop(self) -> None:
        """Make `wait` return; safe to call from a signal handler or another thread."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop the processes in reverse start order: SIGTERM, then SIGKILL after the grace."""
        self._stop.set()
        while self.running:
            run = self.running.pop()
            if not has_exited(run.popen):
                self.console.say(f"stopping {run.spec.name}")
            code = stop_process(run.popen, sig=signal.SIGTERM, grace=self.grace)
            run.pump.join()
            # Closing the pipe under a pump still blocked in readline would deadlock on the
            # reader's lock; a pump only outlives this when a descendant escaped the group.
            if run.popen.stdout is not None and not run.pump.alive():
                run.popen.stdout.close()
            if code not in (0, -signal.SIGTERM):
                self.console.say(f"{run.spec.name} exited with code {code}")

    def describe(self) -> list[dict[str, object]]:
        """Return name, pid and ops port of each running process (None when it serves none:
        then `ready` is the URL that tells it is up)."""
        return [{"name": r.spec.name, "pid": r.popen.pid,
                 "ops_port": r.ops_port if r.spec.ready == "ops" else None,
                 "ready": None if r.spec.ready == "ops" else r.spec.ready}
                for r in self.running]

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

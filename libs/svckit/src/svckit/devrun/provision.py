"""Find or start the NATS, Postgres and Redis that `make run` uses.

A server named by PLATFORM_NATS_URL / PLATFORM_DATABASE_URL / PLATFORM_REDIS_URL must work,
or the launcher stops with the reason. Without those variables:

- NATS: an embedded nats-server is always started, with the platform's per-service users
  and permissions (`svckit.devrun.securenats`). A shared server on the default port would
  let every service (and anything else on the machine) publish and read everything.
  A NATS named by PLATFORM_NATS_URL is used as it is; its users are its operator's concern
  (services take `<PREFIX>NATS_USER` / `<PREFIX>NATS_PASSWORD_FILE` from the environment).
- Postgres and Redis: the default local ports are tried and, when nothing usable answers
  there (or PLATFORM_EMBEDDED=1), an embedded server is started.

Embedded servers keep their data under `.run/<kind>` on a fixed port (remembered in
`.run/ports.json`) so data survives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from svckit.devrun.output import Console
from svckit.devrun.securenats import NatsUsers, start_secured_nats
from svckit.infra.pgadmin import can_login, run_sync
from svckit.infra.postgres import start_postgres
from svckit.infra.probe import LOOPBACK, free_port, nats_info, port_open, redis_ping
from svckit.infra.redis import start_redis
from svckit.infra.server import EmbeddedServer

ENV_VARS = {"nats": "PLATFORM_NATS_URL", "postgres": "PLATFORM_DATABASE_URL",
            "redis": "PLATFORM_REDIS_URL"}
DEFAULT_URLS = {"nats": "nats://127.0.0.1:4222",
                "postgres": "postgresql://postgres@127.0.0.1:5432/postgres",
                "redis": "redis://127.0.0.1:6379/0"}
EMBEDDED_PORTS = {"nats": 14222, "postgres": 15432, "redis": 16379}


class ProvisionError(RuntimeError):
    """A configured server is unusable."""


@dataclass
class Endpoints:
    """Where the platform's servers are, and which of them this launcher started."""

    nats_url: str = ""
    admin_dsn: str = ""
    redis_url: str = ""
    nats_users: NatsUsers | None = None
    """The per-service users of an embedded NATS (None for a configured one)."""
    started: list[EmbeddedServer] = field(default_factory=list)


def redact(url: str) -> str:
    """Return `url` without its password, for printing."""
    p = urlsplit(url)
    if p.password is None:
        return url
    return url.replace(f":{p.password}@", ":***@", 1)


def problem_with(kind: str, url: str) -> str | None:
    """Return why the server at `url` cannot be used, or None when it can."""
    if kind == "nats":
        info = nats_info(url)
        if info is None:
            return "no NATS server answers"
        return None if info.get("jetstream") else "JetStream is not enabled there"
    if kind == "postgres":
        return run_sync(can_login(url))
    reply = redis_ping(url)
    return None if reply == "+PONG" else f"no Redis answers PING ({reply or 'no reply'})"


def _starter(kind: str, durable: bool, found: Endpoints
             ) -> Callable[[Path, int], EmbeddedServer]:
    if kind == "nats":
        def nats(d: Path, port: int) -> EmbeddedServer:
            server, found.nats_users = start_secured_nats(d, d.parent / "nats-auth", port=port)
            return server
        return nats
    if kind == "postgres":
        return lambda d, port: start_postgres(d, port=port, durable=durable)
    return lambda d, port: start_redis(d, port=port, durable=durable)


def provision(
    run_dir: Path,
    env: Mapping[str, str],
    console: Console,
    stack: ExitStack,
    *,
    defaults: Mapping[str, str] = DEFAULT_URLS,
    embedded_ports: Mapping[str, int] = EMBEDDED_PORTS,
    durable: bool = True,
) -> Endpoints:
    """Reuse or start each server; embedded ones are stopped when `stack` closes."""
    ports_file = run_dir / "ports.json"
    ports: dict[str, int] = json.loads(ports_file.read_text()) if ports_file.exists() else {}
    found = Endpoints()
    embedded_only = env.get("PLATFORM_EMBEDDED", "").lower() in ("1", "true", "yes")
    for kind in ("nats", "postgres", "redis"):
        configured = env.get(ENV_VARS[kind])
        url = configured or defaults[kind]
        if configured:
            problem = problem_with(kind, url)
        elif kind == "nats":
            problem = "PLATFORM_NATS_URL is not set"
        elif embedded_only:
            problem = "PLATFORM_EMBEDDED is set"
        else:
            problem = problem_with(kind, url)
        if problem is None:
            console.say(f"{kind}: using {redact(url)}")
        elif configured:
            raise ProvisionError(f"{ENV_VARS[kind]}={redact(url)} cannot be used: {problem}")
        else:
            where = "" if kind == "nats" else f" at {redact(url)}"
            console.say(f"{kind}: {problem}{where}; starting an embedded one")
            port = ports.get(kind) or embedded_ports[kind]
            if kind not in ports and port_open(LOOPBACK, port, timeout=0.2):
                port = free_port()
            server = _starter(kind, durable, found)(run_dir / kind, port)
            ports[kind] = port
            ports_file.write_text(json.dumps(ports))
            stack.callback(_stopper(server, console))
            found.started.append(server)
            url = server.url
            console.say(f"{kind}: embedded at {redact(url)} (pid {server.pid}, data in "
                        f"{run_dir / kind})")
            if kind == "nats":
                console.say(f"nats: each service connects as its own user; passwords and "
                            f"config in {run_dir / 'nats-auth'}")
        if kind == "nats":
            found.nats_url = url
        elif kind == "postgres":
            found.admin_dsn = url
        else:
            found.redis_url = url
    return found


def _stopper(server: EmbeddedServer, console: Console) -> Callable[[], None]:
    def stop() -> None:
        console.say(f"stopping embedded {server.kind}")
        server.stop()

    return stop

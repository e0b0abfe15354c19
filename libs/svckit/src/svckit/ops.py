"""The ops endpoints every service serves: /healthz, /readyz, /metrics.

A deliberately tiny HTTP/1.1 server on asyncio (three GET routes) so a service needs no web
framework to be probed by Kubernetes and scraped by Prometheus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import metrics as _metrics  # noqa: F401 - registers the shared series
from .logging import get_logger

log = get_logger(__name__)
ReadyCheck = Callable[[], Awaitable[bool]]


class OpsServer:
    """Serve liveness, readiness and metrics on a side port."""

    def __init__(self, host: str, port: int, checks: dict[str, ReadyCheck]) -> None:
        self._host = host
        self._port = port
        self._checks = checks
        self._server: asyncio.AbstractServer | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Start listening (port 0 picks a free port, exposed as `.port`)."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ops.listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        """Run every readiness check with a short deadline."""
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), 2.0))
            except Exception:  # a failing dependency makes us unready, never crashes the probe
                results[name] = False
        return all(results.values()), results

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            status, ctype, body = await self._route(method, path.split("?", 1)[0])
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method != "GET":
            return "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        if path == "/healthz":
            return "200 OK", "application/json", b'{"status":"ok"}'
        if path == "/readyz":
            ok, results = await self.readiness()
            body = orjson.dumps({"status": "ready" if ok else "unready", "checks": results})
            return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        return "404 Not Found", "text/plain", b"not found\n"

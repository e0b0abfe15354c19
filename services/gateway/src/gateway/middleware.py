"""The edge middleware: request ids, client IP, body-size limit, canonical log line, audit."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from contracts.errors import ApiError, ErrorCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from svckit.logging import get_logger

from . import metrics
from .audit import audit_event
from .errors import HttpError
from .settings import GatewaySettings
from .state import CallInfo

log = get_logger("gateway.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def client_ip(scope: Scope, settings: GatewaySettings) -> str | None:
    """Return the caller's IP, believing X-Forwarded-For only from trusted proxies."""
    peer = scope["client"][0] if scope.get("client") else None
    if not settings.is_trusted_proxy(peer):
        return peer
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer
    hops = [p.strip() for p in forwarded.split(",") if p.strip()]
    # Walk from the nearest hop outwards; the first address no proxy of ours added is the client.
    for hop in reversed(hops):
        if not settings.is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else peer


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class EdgeMiddleware:
    """Wrap every HTTP call (pure ASGI, so streaming and WebSockets are untouched)."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _header(scope, b"x-request-id")
        if not rid or not _REQUEST_ID.fullmatch(rid):
            rid = uuid.uuid4().hex
        call = CallInfo(request_id=rid, client_ip=client_ip(scope, self.settings),
                        user_agent=(_header(scope, b"user-agent") or "")[:300] or None)
        scope.setdefault("state", {})["call"] = call
        status = 500
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HttpError.of(ErrorCode.PAYLOAD_TOO_LARGE,
                                       f"Request body larger than {limit} bytes")
            return message

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            if too_large:
                await _send_json(send_with_id, ApiError.of(
                    ErrorCode.PAYLOAD_TOO_LARGE, f"Request body larger than {limit} bytes"),
                    close=True)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except Exception:
            # Answer here rather than in Starlette's outer error middleware, so even a bug's
            # 500 carries the request id the caller can quote.
            log.exception("http.unhandled", path=scope["path"])
            if not started_response:
                await _send_json(send_with_id, ApiError.of(ErrorCode.INTERNAL_ERROR))
        finally:
            elapsed = time.perf_counter() - started
            elapsed_ms = round(elapsed * 1000, 2)
            method, path = scope["method"], scope["path"]
            label = call.route or ("spa" if not path.startswith("/api/") else "unmatched")
            metrics.HTTP_REQUESTS.labels(method, label, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, label).observe(elapsed)
            log.info("http", method=method, path=path, status=status, duration_ms=elapsed_ms,
                     user_id=call.user_id, ip=call.client_ip)
            structlog.contextvars.unbind_contextvars("request_id")
            gw = getattr(scope["app"].state, "gw", None) if "app" in scope else None
            if method in STATE_CHANGING and path.startswith("/api/") and gw is not None:
                gw.audit.record(audit_event(
                    action=call.action or "http.unrouted", method=method, path=path,
                    status=status, user_id=call.user_id, ip=call.client_ip,
                    user_agent=call.user_agent, request_id=rid,
                    resource_type=call.resource_type, resource_id=call.resource_id,
                ))


async def _send_json(send: Send, err: ApiError, close: bool = False) -> None:
    body = err.model_dump_json(exclude_none=True).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the unread body would otherwise be parsed as the next request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": err.code, "headers": headers})
    await send({"type": "http.response.body", "body": body})

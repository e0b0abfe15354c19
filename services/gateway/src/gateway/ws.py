"""`/ws`: authenticate in the first message, then push the user's own events.

User events are never dropped: each client has a bounded queue, and a client too slow to
keep up past that bound is disconnected with close code 4008 (it reconnects and re-reads
what it missed over HTTP) instead of silently losing events. Market ticks are different:
`{"type":"subscribe","instruments":[{"segment":"NSE_EQ","securityId":"2885"}]}` leases the
instruments from marketdata and streams `{"type":"tick","data":...}`, conflated to the
latest tick per instrument when the client is slow; unsubscribing or disconnecting
releases the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import orjson
from contracts import subjects
from contracts.subjects import InvalidSubjectToken, token
from fastapi import WebSocket, WebSocketDisconnect
from nats.aio.msg import Msg
from svckit.logging import get_logger

from . import metrics
from .errors import HttpError
from .identity import Principal
from .market import Conflator, MarketFanout
from .state import Gateway
from .tokens import Claims, InvalidToken

log = get_logger(__name__)
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4008
CLOSE_BAD_MESSAGE = 4400


class _Overflow(Exception):
    """The client's queue is full."""


async def websocket_endpoint(ws: WebSocket) -> None:
    """Serve one WebSocket client for its whole life."""
    gw: Gateway = ws.app.state.gw
    await ws.accept()
    principal = await _authenticate(gw, ws)
    if principal is None:
        return
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(gw.settings.ws_queue_max)
    overflow = asyncio.Event()

    async def on_event(msg: Msg) -> None:
        try:
            queue.put_nowait((msg.subject, msg.data))
        except asyncio.QueueFull:
            overflow.set()

    sub = await gw.nc.subscribe(subjects.user_events(principal.user_id), cb=on_event)
    client = uuid.uuid4().hex
    ticks = gw.market.attach(client) if gw.market else None
    await ws.send_json({"type": "ready", "userId": principal.user_id})
    log.info("ws.connected", user_id=principal.user_id)
    metrics.WS_CLIENTS.inc()
    tasks = [asyncio.create_task(_pump(ws, queue)),
             asyncio.create_task(_receive(ws, gw.market, client)),
             asyncio.create_task(_watch_revocation(gw, principal)),
             asyncio.create_task(overflow.wait())]
    if ticks is not None:
        tasks.append(asyncio.create_task(_pump_ticks(ws, ticks)))
    reason = None
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        reason = _close_reason(done, tasks, overflow)
    finally:
        # Stop taking events first: a stalled client must not keep its subscription while
        # the close frame waits behind unsent data (uvicorn's pings reap it in the end).
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if gw.market is not None:
            with contextlib.suppress(Exception):
                await gw.market.detach(client)
        metrics.WS_CLIENTS.dec()
        if reason is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(*reason), 5)
        log.info("ws.closed", user_id=principal.user_id)


def _close_reason(done: set[asyncio.Task], tasks: list[asyncio.Task],
                  overflow: asyncio.Event) -> tuple[int, str] | None:
    if overflow.is_set():
        log.warning("ws.too_slow")
        metrics.WS_SLOW_CLOSES.inc()
        return CLOSE_TOO_SLOW, "Client too slow: event backlog full; reconnect"
    if tasks[2] in done and not tasks[2].cancelled() and tasks[2].exception() is None:
        return CLOSE_UNAUTHORIZED, "Session revoked"
    return None


async def _authenticate(gw: Gateway, ws: WebSocket) -> Principal | None:
    try:
        first = await asyncio.wait_for(ws.receive_text(), gw.settings.ws_auth_timeout_s)
        msg = orjson.loads(first)
        if not isinstance(msg, dict) or msg.get("type") != "auth" or not msg.get("token"):
            raise InvalidToken("first message must be {type: auth, token}")
        return await gw.auth.from_token(str(msg["token"]))
    except TimeoutError:
        await _close(ws, CLOSE_UNAUTHORIZED, "Authenticate within the deadline")
    except (InvalidToken, HttpError, orjson.JSONDecodeError):
        await _close(ws, CLOSE_UNAUTHORIZED, "Authentication failed")
    except (WebSocketDisconnect, RuntimeError):
        pass
    return None


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason)


async def _pump(ws: WebSocket, queue: asyncio.Queue[tuple[str, bytes]]) -> None:
    while True:
        subject, data = await queue.get()
        try:
            event: Any = orjson.loads(data) if data else None
        except orjson.JSONDecodeError:
            event = data.decode("utf-8", "replace")
        await ws.send_text(orjson.dumps({"type": "event", "subject": subject, "data": event}).decode())
        metrics.WS_EVENTS.inc()


async def _pump_ticks(ws: WebSocket, ticks: Conflator) -> None:
    while True:
        for _key, frame in await ticks.next_batch():
            await ws.send_text(frame)


def _instruments(msg: dict[str, Any]) -> list[tuple[str, str]]:
    """Read `instruments` of a (un)subscribe message as subject-safe (segment, id) pairs."""
    items = msg.get("instruments")
    if not isinstance(items, list) or not items:
        raise ValueError("instruments must be a non-empty list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each instrument is {segment, securityId}")  # noqa: TRY004 - a client message error, not a programming error
        out.append((token(item.get("segment", "")), token(item.get("securityId", ""))))
    return out


async def _market(ws: WebSocket, market: MarketFanout | None, client: str, kind: str,
                  msg: dict[str, Any]) -> None:
    if market is None:
        await ws.send_json({"type": "error", "error": "NOT_AVAILABLE",
                            "message": "Market data streaming is not available"})
        return
    try:
        keys = _instruments(msg)
        if kind == "subscribe":
            await market.subscribe(client, keys)
        else:
            await market.unsubscribe(client, keys)
    except (ValueError, InvalidSubjectToken) as exc:
        await ws.send_json({"type": "error", "error": "BAD_MESSAGE", "message": str(exc)})
        return
    except Exception as exc:  # noqa: BLE001 - marketdata down or slow: tell the client, keep the socket
        log.warning("ws.market_failed", error=str(exc))
        await ws.send_json({"type": "error", "error": "SERVICE_UNAVAILABLE",
                            "message": "Market data is unavailable; try again shortly"})
        return
    await ws.send_json({"type": f"{kind}d", "instruments": [
        {"segment": seg, "securityId": sid} for seg, sid in keys]})


async def _receive(ws: WebSocket, market: MarketFanout | None, client: str) -> None:
    while True:
        try:
            text = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            msg = orjson.loads(text)
            kind = msg.get("type") if isinstance(msg, dict) else None
        except orjson.JSONDecodeError:
            kind = None
        if kind in ("subscribe", "unsubscribe"):
            await _market(ws, market, client, kind, msg)
        elif kind == "ping":
            await ws.send_json({"type": "pong"})
        else:
            await ws.send_json({"type": "error", "error": "BAD_MESSAGE",
                                "message": "Unknown message type"})


async def _watch_revocation(gw: Gateway, principal: Principal) -> None:
    """Return when the session is revoked (logout, password change, suspension)."""
    claims = Claims(principal.user_id, principal.role, principal.session_id,
                    principal.email_verified, issued_at=principal.issued_at, expires_at=0)
    while True:
        await asyncio.sleep(gw.settings.ws_revocation_check_s)
        try:
            if await gw.auth.revoked(claims):
                return
        except HttpError:
            continue

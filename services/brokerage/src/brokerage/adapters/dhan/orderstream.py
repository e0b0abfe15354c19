"""Dhan's order-update websocket (API.md §10): log in, then turn frames into order updates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import websockets
from svckit.logging import get_logger

from ..base import BrokerOrder
from ..resilience import backoff
from .errors import AUTHENTICATION_CODES
from .parsing import parse_alert, split_frames

log = get_logger(__name__)


class OrderStream:
    """Keep one order-update socket open for one account, reconnecting with backoff."""

    def __init__(self, url: str, client_id: str, access_token: str, *,
                 on_update: Callable[[BrokerOrder], Awaitable[None]],
                 on_auth_failed: Callable[[], Awaitable[None]],
                 on_connected: Callable[[], Awaitable[None]] | None = None) -> None:
        self._url = url
        self._client_id = client_id
        self._token = access_token
        self._on_update = on_update
        self._on_auth_failed = on_auth_failed
        self._on_connected = on_connected
        self.connected = asyncio.Event()

    def login_frame(self) -> str:
        """Return the LoginReq text frame."""
        return json.dumps({"LoginReq": {"MsgCode": 42, "ClientId": self._client_id,
                                        "Token": self._token}, "UserType": "SELF"})

    async def run(self) -> None:
        """Stream until cancelled or the broker refuses the token."""
        attempt = 0
        while True:
            try:
                async with websockets.connect(self._url, open_timeout=10,
                                              ping_interval=20) as ws:
                    await ws.send(self.login_frame())
                    self.connected.set()
                    attempt = 0
                    if self._on_connected:
                        await self._on_connected()
                    async for raw in ws:
                        if await self._handle(raw):
                            return
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.info("dhan.order_stream_down", error=type(exc).__name__)
            self.connected.clear()
            await asyncio.sleep(0.2 + backoff(attempt, 0.5, 15.0))
            attempt += 1

    async def _handle(self, raw: str | bytes) -> bool:
        """Handle one frame; return True when the stream must stop (auth refused)."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            frames = split_frames(text)
        except ValueError:
            log.warning("dhan.order_stream_bad_frame", size=len(text))
            return False
        for frame in frames:
            if str(frame.get("errorCode") or "") in AUTHENTICATION_CODES:
                await self._on_auth_failed()
                return True
            update = parse_alert(frame)
            if update is not None:
                await self._on_update(update)
        return False

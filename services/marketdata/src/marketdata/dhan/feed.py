"""Dhan live market feed client (API.md §8): connections, subscriptions, reconnects.

Instruments are spread over at most 5 connections of at most 5000 instruments each and
subscribed in messages of at most 100 (API.md §7.1). A dropped connection reconnects with
exponential backoff plus jitter and resubscribes everything it carried. A disconnect code
that retrying cannot fix (805 too many connections, 806 no data plan, 807-810 token) halts
the whole feed once, with an event, instead of a retry storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlencode

import orjson
from contracts.events.marketdata import Tick
from svckit.logging import get_logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .packets import Decoder

log = get_logger(__name__)

TICKER, QUOTE, FULL = 15, 17, 21
FATAL_CODES = {805: "too many connections", 806: "data APIs not subscribed",
               807: "access token expired", 808: "authentication failed",
               809: "access token invalid", 810: "client id invalid"}
Key = tuple[str, str]
TickSink = Callable[[list[Tick]], Awaitable[None]]
EventSink = Callable[[str, dict], Awaitable[None]]


class FeedConnection:
    """One websocket to the feed and the instruments it carries."""

    def __init__(self, index: int, url: str, sink: TickSink, events: EventSink,
                 now: Callable[[], datetime], on_fatal: Callable[[int, str], Awaitable[None]],
                 per_message: int = 100, backoff_s: tuple[float, float] = (0.5, 30.0)) -> None:
        self.index = index
        self._url = url
        self._sink = sink
        self._events = events
        self._now = now
        self._on_fatal = on_fatal
        self._per_message = per_message
        self._backoff = backoff_s
        self.instruments: dict[Key, int] = {}
        self.ws: ClientConnection | None = None
        self.connects = 0
        self.frames = 0
        self._task: asyncio.Task | None = None
        self._decoder = Decoder(f"c{index}-")

    def start(self) -> None:
        """Start connecting in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"feed-{self.index}")

    async def stop(self) -> None:
        """Disconnect politely and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)

    async def _run(self) -> None:
        failures = 0
        while True:
            code, reason = None, ""
            try:
                async with connect(self._url, max_size=2**22, ping_interval=None,
                                   open_timeout=10, close_timeout=2) as ws:
                    self.ws = ws
                    self.connects += 1
                    await self._send_all(ws)
                    failures = 0
                    await self._events("connected", {"connection": self.index,
                                                     "instruments": len(self.instruments)})
                    code = await self._read(ws)
                    reason = FATAL_CODES.get(code or 0, "closed by server")
            except InvalidStatus as exc:
                status = exc.response.status_code
                code, reason = (808, "handshake refused") if status in (401, 403) else (
                    (805, "handshake rate-limited") if status == 429 else (None, f"http {status}"))
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                reason = type(exc).__name__
            finally:
                self.ws = None
            if code in FATAL_CODES:
                await self._on_fatal(code, reason)
                return
            failures += 1
            delay = min(self._backoff[1], self._backoff[0] * 2 ** (failures - 1))
            delay *= 0.5 + random.random() / 2
            await self._events("disconnected", {"connection": self.index, "code": code,
                                                "reason": reason, "retry_in_s": round(delay, 3),
                                                "instruments": len(self.instruments)})
            await asyncio.sleep(delay)  # backoff pacing before the next attempt

    async def _read(self, ws: ClientConnection) -> int | None:
        async for frame in ws:
            if isinstance(frame, str):
                continue
            self.frames += 1
            ticks, disconnect = self._decoder.decode(frame, self._now())
            if ticks:
                await self._sink(ticks)
            if disconnect is not None:
                log.warning("feed.disconnect_packet", connection=self.index, code=disconnect.code)
                return disconnect.code
        return None

    async def _send_all(self, ws: ClientConnection) -> None:
        by_mode: dict[int, list[Key]] = {}
        for key, mode in self.instruments.items():
            by_mode.setdefault(mode, []).append(key)
        for mode, keys in by_mode.items():
            await self._send(ws, mode, keys)

    async def _send(self, ws: ClientConnection, code: int, keys: list[Key]) -> None:
        for i in range(0, len(keys), self._per_message):
            chunk = keys[i:i + self._per_message]
            await ws.send(orjson.dumps({
                "RequestCode": code, "InstrumentCount": len(chunk),
                "InstrumentList": [{"ExchangeSegment": s, "SecurityId": sid} for s, sid in chunk],
            }).decode())

    async def subscribe(self, keys: dict[Key, int]) -> None:
        """Add instruments (key -> mode) and subscribe them if connected."""
        self.instruments.update(keys)
        await self._push(keys, 0)

    async def unsubscribe(self, keys: list[Key]) -> None:
        """Remove instruments and unsubscribe them if connected."""
        gone = {k: self.instruments.pop(k) for k in keys if k in self.instruments}
        await self._push(gone, 1)

    async def _push(self, keys: dict[Key, int], offset: int) -> None:
        ws = self.ws
        if ws is None or not keys:
            return
        by_mode: dict[int, list[Key]] = {}
        for key, mode in keys.items():
            by_mode.setdefault(mode + offset, []).append(key)
        try:
            for code, chunk in by_mode.items():
                await self._send(ws, code, chunk)
        except ConnectionClosed:
            pass  # the reconnect resubscribes everything from self.instruments

    async def resubscribe(self, keys: list[Key]) -> None:
        """Send the subscription again (the watchdog's first step)."""
        await self._push({k: self.instruments[k] for k in keys if k in self.instruments}, 0)


def feed_url(base: str, client_id: str, token: str) -> str:
    """Build the v2 feed URL with query-string auth (API.md §8.1)."""
    query = urlencode({"version": 2, "token": token, "clientId": client_id, "authType": 2})
    return f"{base}{'&' if '?' in base else '?'}{query}"

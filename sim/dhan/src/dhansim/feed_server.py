"""The binary live market feed websocket (API.md 8): subscriptions, limits, streaming."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from dhansim import packets
from dhansim.core import Simulator
from dhansim.instruments import Instrument

MAX_PER_MESSAGE = 100
MAX_PER_CONNECTION = 5000
MAX_CONNECTIONS = 5
SUBSCRIBE = {15: "ticker", 17: "quote", 21: "full"}
UNSUBSCRIBE = {16: "ticker", 18: "quote", 22: "full"}


@dataclass(eq=False)
class FeedConn:
    """One feed websocket and what it subscribed to."""

    ws: web.WebSocketResponse
    request: web.Request
    client_id: str
    subs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    sent: dict[tuple[str, str, str], tuple] = field(default_factory=dict)
    prev_sent: dict[tuple[str, str], object] = field(default_factory=dict)
    requested: set[tuple[str, str]] = field(default_factory=set)


async def keepalive(ws: web.WebSocketResponse, interval: float) -> None:
    """Ping the client every interval seconds, as Dhan does (pongs are not enforced)."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        while not ws.closed:
            await asyncio.sleep(interval)
            await ws.ping()


class FeedHub:
    """Track feed connections per client and stream packets to them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.conns: dict[str, list[FeedConn]] = {}
        sim.feed_hub = self

    def count(self, client_id: str) -> int:
        """Return how many feed sockets a client has open."""
        return len(self.conns.get(client_id, []))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one feed websocket from handshake to close."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        client_id, why = self.sim.tokens.check(request.query.get("token"))
        if client_id is None or request.query.get("clientId") not in (None, client_id):
            await self._refuse(ws, 807 if why == "expired" else 808)
            return ws
        conn = FeedConn(ws, request, client_id)
        await self._register(conn)
        streamer = asyncio.create_task(self._stream(conn))
        pinger = asyncio.create_task(keepalive(ws, self.sim.settings.ping_interval))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    if not await self._on_text(conn, msg.data):
                        break
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            for task in (streamer, pinger):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._unregister(conn)
            await ws.close()
        return ws

    async def _refuse(self, ws: web.WebSocketResponse, code: int) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_bytes(packets.disconnect(code))
        await ws.close()

    async def _register(self, conn: FeedConn) -> None:
        conns = self.conns.setdefault(conn.client_id, [])
        conns.append(conn)
        while len(conns) > MAX_CONNECTIONS:
            oldest = conns.pop(0)
            await self._refuse(oldest.ws, 805)

    def _unregister(self, conn: FeedConn) -> None:
        conns = self.conns.get(conn.client_id, [])
        if conn in conns:
            conns.remove(conn)

    async def _on_text(self, conn: FeedConn, text: str) -> bool:
        try:
            msg = orjson.loads(text)
            code = int(msg.get("RequestCode"))
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
            return True  # Dhan ignores what it cannot parse
        if code == 12:
            return False
        mode = SUBSCRIBE.get(code) or UNSUBSCRIBE.get(code)
        if mode is None:
            return True
        items = msg.get("InstrumentList") or []
        if len(items) > MAX_PER_MESSAGE or int(msg.get("InstrumentCount") or 0) > MAX_PER_MESSAGE:
            await self._refuse(conn.ws, 804)
            return False
        keys, asked = [], set()
        for item in items:
            if not isinstance(item, dict):
                continue
            seg, sid = str(item.get("ExchangeSegment")), str(item.get("SecurityId", "")).strip()
            asked.add((seg, sid))
            inst = self.sim.master.get(seg, sid)
            if inst is not None:
                keys.append((inst.segment, inst.security_id))
        if code in UNSUBSCRIBE:
            conn.requested -= asked
            for key in keys:
                modes = conn.subs.get(key, set())
                modes.discard(mode)
                conn.sent.pop((*key, mode), None)
                if not modes:
                    conn.subs.pop(key, None)
                    conn.prev_sent.pop(key, None)
            return True
        # Count every instrument asked for, known or not, against the per-socket cap.
        conn.requested |= asked
        if len(conn.requested) > MAX_PER_CONNECTION:
            await self._refuse(conn.ws, 804)
            return False
        for key in keys:
            conn.subs.setdefault(key, set()).add(mode)
        await self._push(conn, only=set(keys))
        return True

    async def _stream(self, conn: FeedConn) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not conn.ws.closed:
                await self._push(conn)
                await asyncio.sleep(self.sim.settings.feed_interval)

    async def _push(self, conn: FeedConn, only: set | None = None) -> None:
        now = self.sim.clock.now()
        for key, modes in list(conn.subs.items()):
            if only is not None and key not in only:
                continue
            inst = self.sim.master.get(*key)
            snap = self.sim.market.snapshot(inst, now)
            if conn.prev_sent.get(key) != snap.day:
                conn.prev_sent[key] = snap.day
                await conn.ws.send_bytes(packets.prev_close(snap, self._prev_oi(inst, snap)))
            for mode in sorted(modes):
                marker = (snap.day, snap.seq)
                last = conn.sent.get((*key, mode))
                if last == marker:
                    continue
                conn.sent[(*key, mode)] = marker
                # Dhan sends every trade, not a sample: a fast clock can pass several trades
                # between two pushes, and each must go out (bars are built from them)
                snaps = [snap]
                if last is not None and last[0] == snap.day and 0 <= last[1] < snap.seq - 1:
                    snaps = self.sim.market.trades_after(inst, last[1], now)
                for s in snaps:
                    for frame in self._frames(inst, s, mode):
                        await conn.ws.send_bytes(frame)

    @staticmethod
    def _frames(inst: Instrument, snap, mode: str) -> list[bytes]:
        if mode == "ticker":
            return [packets.ticker(snap)]
        if mode == "quote":
            out = [packets.quote(snap)]
            return out + [packets.oi(snap)] if inst.is_derivative else out
        return [packets.full(snap)]

    def _prev_oi(self, inst: Instrument, snap) -> int:
        if not inst.is_derivative:
            return 0
        prev_day = self.sim.prices.last_trading_day(inst, snap.day)
        path = self.sim.prices.path(inst.segment, inst.security_id, prev_day)
        return path.ois[-1] if path.ois else 0

    async def cut(self, client_id: str | None, code: int | None) -> None:
        """Drop feed sockets (of one client or all): with a disconnect code, or silently."""
        targets = [c for cid, conns in self.conns.items() if client_id in (None, cid)
                   for c in list(conns)]
        for conn in targets:
            self._unregister(conn)
            if code:
                await self._refuse(conn.ws, int(code))
            elif conn.request.transport is not None:
                conn.request.transport.abort()

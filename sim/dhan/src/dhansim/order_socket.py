"""The live order-update websocket (API.md 10): login frame, then order_alert frames."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from dhansim import errors
from dhansim.core import Simulator
from dhansim.feed_server import keepalive

LOGIN_TIMEOUT = 30.0


@dataclass(eq=False)
class OrderConn:
    """One logged-in order-update socket."""

    ws: web.WebSocketResponse
    client_id: str
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class OrderHub:
    """Route order events of the exchange to every socket of the owning client."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.conns: dict[str, list[OrderConn]] = {}
        sim.order_hub = self
        sim.exchange.listeners.append(self.publish)

    def count(self, client_id: str) -> int:
        """Return how many order sockets a client has logged in."""
        return len(self.conns.get(client_id, []))

    def publish(self, client_id: str, frame: dict) -> None:
        """Queue an order_alert frame for the client's sockets."""
        data = orjson.dumps(frame).decode()
        for conn in self.conns.get(client_id, []):
            conn.queue.put_nowait(data)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one order-update socket: wait for LoginReq, then push events."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        client_id = await self._login(ws)
        if client_id is None:
            await ws.close()
            return ws
        conn = OrderConn(ws, client_id)
        self.conns.setdefault(client_id, []).append(conn)
        writer = asyncio.create_task(self._write(conn))
        pinger = asyncio.create_task(keepalive(ws, self.sim.settings.ping_interval))
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            for task in (writer, pinger):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.conns[client_id].remove(conn)
            await ws.close()
        return ws

    async def _login(self, ws: web.WebSocketResponse) -> str | None:
        try:
            msg = await ws.receive(timeout=LOGIN_TIMEOUT)
        except TimeoutError:
            return None
        if msg.type != WSMsgType.TEXT:
            return None
        try:
            login = orjson.loads(msg.data).get("LoginReq") or {}
            claimed, token = str(login.get("ClientId", "")), str(login.get("Token", ""))
            code = int(login.get("MsgCode", 0))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            claimed, token, code = "", "", 0
        client_id, _ = self.sim.tokens.check(token)
        if code != 42 or client_id is None or client_id != claimed:
            await ws.send_str(orjson.dumps(errors.bad_auth().body()).decode())
            return None
        return client_id

    async def revoke(self, client_id: str) -> None:
        """Tell a client's sockets that the token is no longer valid, then close them."""
        for conn in list(self.conns.get(client_id, [])):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_str(orjson.dumps(errors.bad_auth().body()).decode())
            await conn.ws.close()

    @staticmethod
    async def _write(conn: OrderConn) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await conn.ws.send_str(await conn.queue.get())

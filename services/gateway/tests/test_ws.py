"""`/ws`: first-message auth, own events only, reserved market-data messages, revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct

import pytest
import websockets
from contracts import auth as A
from contracts import subjects
from structlog.testing import capture_logs

pytestmark = pytest.mark.integration


def ws_url(gw) -> str:
    return gw.url.replace("http://", "ws://") + "/ws"


async def recv(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_pushes_own_events_only(gw):
    nc = gw.app.runtime.nc
    async with websockets.connect(ws_url(gw)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": gw.auth.token(sub="wsa")}))
        assert (await recv(ws))["type"] == "ready"
        await nc.publish(subjects.user_event("wsb", "test", "ping"), b'{"who":"b"}')
        await nc.publish(subjects.user_event("wsa", "test", "ping"), b'{"who":"a"}')
        msg = await recv(ws)
        assert msg == {"type": "event", "subject": "evt.wsa.test.ping", "data": {"who": "a"}}
        await ws.send(json.dumps({"type": "subscribe", "instruments": ["NSE_EQ:2885"]}))
        assert (await recv(ws))["error"] == "BAD_MESSAGE"
        await ws.send(json.dumps({"type": "subscribe",
                                  "instruments": [{"segment": "NSE_EQ", "securityId": "28.>"}]}))
        assert (await recv(ws))["error"] == "BAD_MESSAGE"
        await ws.send("not json")
        assert (await recv(ws))["error"] == "BAD_MESSAGE"


@pytest.mark.parametrize("first", ["hello", '{"type":"auth","token":"x.y.z"}', '{"type":"ping"}'])
async def test_bad_first_message_closes_4401(gw, first):
    async with websockets.connect(ws_url(gw)) as ws:
        await ws.send(first)
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await recv(ws)
        assert exc.value.rcvd.code == 4401


async def test_silent_client_is_closed_after_the_deadline(gw):
    gw.app.settings.ws_auth_timeout_s = 0.3
    async with websockets.connect(ws_url(gw)) as ws:
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await recv(ws)
        assert exc.value.rcvd.code == 4401


async def test_revoked_session_is_disconnected(gw):
    async with websockets.connect(ws_url(gw)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": gw.auth.token(sub="wsr", sid="sr")}))
        assert (await recv(ws))["type"] == "ready"
        await gw.redis.set(A.revoked_session_key(gw.prefix, "sr"), "1")
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await recv(ws)
        assert exc.value.rcvd.code == 4401


async def _raw_ws(gw, token: str):
    """Open a WebSocket on a bare socket that reads only when told (a stalled browser)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.app.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    payload = json.dumps({"type": "auth", "token": token}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    writer.write(bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload)) + mask + masked)
    return reader, writer


async def _read_frame(reader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    return head[0] & 0x0F, await reader.readexactly(length)


async def test_slow_client_is_closed_not_silently_dropped(gw):
    gw.app.settings.ws_queue_max = 5
    nc = gw.app.runtime.nc
    reader, writer = await _raw_ws(gw, gw.auth.token(sub="wss"))
    opcode, data = await _read_frame(reader)
    assert json.loads(data)["type"] == "ready"
    big = b'{"pad":"' + b"x" * 100_000 + b'"}'
    with capture_logs() as logs:
        for _ in range(400):  # 40 MB: far more than the socket buffers hold
            await nc.publish(subjects.user_event("wss", "test", "flood"), big)
        await nc.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not any(e["event"] == "ws.too_slow" for e in logs):
            assert loop.time() < deadline, "the gateway never gave up on the slow client"
            await asyncio.sleep(0.05)
    events = 0
    while True:
        opcode, data = await asyncio.wait_for(_read_frame(reader), 10)
        if opcode == 0x8:
            break
        events += 1
    assert struct.unpack("!H", data[:2])[0] == 4008 and b"too slow" in data
    assert 0 < events < 400
    writer.close()


async def test_market_ticks_are_leased_streamed_and_released(gw):
    """A browser subscribes, gets ticks of its instrument only, and its lease is released."""
    from contracts import marketdata as md

    nc = gw.app.runtime.nc
    calls: list[tuple[str, dict]] = []

    async def marketdata(msg):
        calls.append((msg.subject, json.loads(msg.data)))
        await msg.respond(b"{}")

    subs = [await nc.subscribe(md.LEASE, cb=marketdata), await nc.subscribe(md.RELEASE, cb=marketdata)]
    try:
        async with websockets.connect(ws_url(gw)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": gw.auth.token(sub="mkt")}))
            assert (await recv(ws))["type"] == "ready"
            await ws.send(json.dumps({"type": "subscribe",
                                      "instruments": [{"segment": "NSE_EQ", "securityId": "2885"}]}))
            assert (await recv(ws))["type"] == "subscribed"
            assert calls[0][0] == md.LEASE
            await nc.publish(subjects.tick("NSE_EQ", "1333"), b'{"ltp":1}')
            await nc.publish(subjects.tick("NSE_EQ", "2885"), b'{"ltp":2885}')
            assert await recv(ws) == {"type": "tick", "data": {"ltp": 2885}}
            await ws.send(json.dumps({"type": "unsubscribe",
                                      "instruments": [{"segment": "NSE_EQ", "securityId": "2885"}]}))
            assert (await recv(ws))["type"] == "unsubscribed"
            assert calls[-1][0] == md.RELEASE
            assert calls[-1][1]["instruments"] == [{"segment": "NSE_EQ", "securityId": "2885"}]
    finally:
        for sub in subs:
            await sub.unsubscribe()

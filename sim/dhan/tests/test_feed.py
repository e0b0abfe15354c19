"""The binary feed socket: auth, modes, unsubscribe, per-message/socket/user limits, cuts."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import aiohttp
import httpx
import orjson
import pytest

from .conftest import until


def sub(code: int, items: list[tuple[str, str]]) -> str:
    return orjson.dumps({"RequestCode": code, "InstrumentCount": len(items), "InstrumentList": [
        {"ExchangeSegment": seg, "SecurityId": sid} for seg, sid in items]}).decode()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def feed_url(sim, client) -> str:
    return f"{sim.feed_url}?version=2&token={client.token}&clientId={client.client_id}&authType=2"


async def next_packet(ws) -> bytes:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    return msg.data


async def closed_after_disconnect(ws) -> int:
    """Return the reason of the disconnect packet that precedes the close."""
    while True:
        msg = await ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.BINARY and msg.data[0] == 50:
            code = struct.unpack("<BHBIH", msg.data)[4]
            follow = await ws.receive(timeout=5)
            assert follow.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            return code
        assert msg.type == aiohttp.WSMsgType.BINARY, msg


async def test_bad_token_gets_disconnect_808(sim, session):
    url = f"{sim.feed_url}?version=2&token=bad&clientId=1&authType=2"
    async with session.ws_connect(url) as ws:
        assert await closed_after_disconnect(ws) == 808


async def test_ticker_subscription_sends_prev_close_then_ticker_with_ist_ltt(sim, client, session):
    async with session.ws_connect(feed_url(sim, client)) as ws:
        await ws.send_str(sub(15, [("NSE_EQ", "2885")]))
        prev = await next_packet(ws)
        assert struct.unpack("<BHBIfI", prev)[:4] == (6, 16, 1, 2885)
        tick = struct.unpack("<BHBIfI", await next_packet(ws))
        assert tick[:4] == (2, 16, 1, 2885)
        assert tick[4] == pytest.approx(1426.0)
        assert tick[5] == int(datetime(2025, 7, 23, 9, 15, tzinfo=UTC).timestamp())


async def test_quote_mode_on_a_derivative_adds_oi_and_full_has_depth(sim, client, session):
    async with session.ws_connect(feed_url(sim, client)) as ws:
        await ws.send_str(sub(17, [("NSE_FNO", "53001")]))
        codes = [(await next_packet(ws))[0] for _ in range(3)]
        assert codes == [6, 4, 5]
        await ws.send_str(sub(21, [("NSE_EQ", "1333")]))
        assert (await next_packet(ws))[0] == 6
        full = await next_packet(ws)
        assert full[0] == 8 and len(full) == 162


async def test_unsubscribe_stops_packets(sim, client, session):
    sim.set_clock(speed=600.0, paused=False)
    async with session.ws_connect(feed_url(sim, client)) as ws:
        await ws.send_str(sub(15, [("NSE_EQ", "2885")]))
        await next_packet(ws)
        await ws.send_str(sub(16, [("NSE_EQ", "2885")]))
        await ws.send_str(sub(15, [("NSE_EQ", "11536")]))
        # Frames are handled in order: once TCS shows up, RELIANCE must stay silent.
        while struct.unpack("<BHBI", (await next_packet(ws))[:8])[3] != 11536:
            pass
        for _ in range(5):
            assert struct.unpack("<BHBI", (await next_packet(ws))[:8])[3] == 11536


async def test_more_than_100_instruments_in_one_message_is_refused(sim, client, session):
    async with session.ws_connect(feed_url(sim, client)) as ws:
        await ws.send_str(sub(15, [("NSE_EQ", str(100000 + i)) for i in range(101)]))
        assert await closed_after_disconnect(ws) == 804


async def test_more_than_5000_instruments_on_one_socket_is_refused(sim, client, session):
    async with session.ws_connect(feed_url(sim, client)) as ws:
        for batch in range(49):
            await ws.send_str(sub(15, [("NSE_EQ", str(200000 + batch * 100 + i))
                                       for i in range(100)]))
        await ws.send_str(sub(15, [("NSE_EQ", str(300000 + i)) for i in range(99)]
                              + [("NSE_EQ", "2885")]))
        assert (await next_packet(ws))[0] == 6  # exactly 5000 is still fine
        await ws.send_str(sub(15, [("NSE_EQ", "999999")]))
        assert await closed_after_disconnect(ws) == 804


async def test_sixth_connection_drops_the_oldest_with_805(sim, client, session):
    sockets = [await session.ws_connect(feed_url(sim, client)) for _ in range(5)]
    await until(lambda: sim.sim.feed_hub.count(client.client_id) == 5)
    sixth = await session.ws_connect(feed_url(sim, client))
    assert await closed_after_disconnect(sockets[0]) == 805
    await sixth.send_str(sub(15, [("NSE_EQ", "2885")]))
    assert (await next_packet(sixth))[0] == 6
    assert sim.sim.feed_hub.count(client.client_id) == 5
    for ws in sockets[1:] + [sixth]:
        await ws.close()


async def test_feed_cut_with_code_and_silently(sim, client, session):
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        async with session.ws_connect(feed_url(sim, client)) as ws:
            await until(lambda: sim.sim.feed_hub.count(client.client_id) == 1)
            await admin.post("/sim/faults", json={"feedCut": {"code": 807}})
            assert await closed_after_disconnect(ws) == 807
        async with session.ws_connect(feed_url(sim, client)) as ws:
            await until(lambda: sim.sim.feed_hub.count(client.client_id) == 1)
            await admin.post("/sim/faults", json={"feedCut": {"dhanClientId": client.client_id}})
            msg = await ws.receive(timeout=5)
            # A silent cut: no disconnect packet and no close frame from the server.
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_expired_token_closes_the_feed_with_807_and_is_refused(sim, client, session):
    async with (httpx.AsyncClient(base_url=sim.rest_url) as admin,
                session.ws_connect(feed_url(sim, client)) as ws):
        await until(lambda: sim.sim.feed_hub.count(client.client_id) == 1)
        await admin.post("/sim/faults", json={"expireToken": client.client_id})
        assert await closed_after_disconnect(ws) == 807
    async with session.ws_connect(feed_url(sim, client)) as ws:
        assert await closed_after_disconnect(ws) == 807
    assert (await client.get("/orders")).json()["errorCode"] == "DH-901"


async def test_a_fast_clock_still_sends_every_trade_in_order(sim, client, session):
    """Bars are built from the feed: between two pushes a fast market clock passes several
    trades (RELIANCE replays four per minute), and every one of them must go out, in order."""
    async with session.ws_connect(feed_url(sim, client)) as ws:
        await ws.send_str(sub(15, [("NSE_EQ", "2885")]))
        assert (await next_packet(ws))[0] == 6  # previous close
        first = struct.unpack("<BHBIfI", await next_packet(ws))
        sim.set_clock(speed=1200.0, paused=False)  # 120 market seconds per 100 ms push
        times = [first[5]]
        while len(times) < 40:
            times.append(struct.unpack("<BHBIfI", await next_packet(ws))[5])
        sim.set_clock(paused=True)
    # one trade every 15 s of the replayed 1-minute bars, none skipped, none repeated
    assert [b - a for a, b in zip(times, times[1:])] == [15] * 39

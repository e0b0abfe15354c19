"""Instruments, quotes, history and market status through the real gateway, marketdata and
Dhan simulator processes (issue 4, "Done when")."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from gateway.routes import ROUTES

SERVED = {r.path for r in ROUTES}
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    "/api/market/instruments" not in SERVED, reason="the gateway has no /api/market routes yet")]

# The simulator's clock starts at 2025-07-23 09:15 IST; the day before is a full session.
DAY_FROM, DAY_TO = "2025-07-22T03:45:00Z", "2025-07-22T10:00:00Z"


@pytest.fixture(autouse=True)
def _marketdata_runs(e2e):
    if not e2e.runs("marketdata"):
        pytest.skip("platform.toml does not run marketdata yet")


async def test_search_reli_finds_reliance_first(api):
    _, token, _ = await api.signup("searcher")
    r = await api.http.get("/api/market/instruments", headers=api.bearer(token),
                           params={"q": "RELI"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items[0]["symbol"] == "RELIANCE" and items[0]["securityId"] == "2885", items[:3]
    assert items[0]["segment"] == "NSE_EQ" and Decimal(items[0]["tickSize"]) > 0
    r = await api.http.get("/api/market/instruments", headers=api.bearer(token), params={"q": ""})
    api.error(r, 400, "VALIDATION_ERROR")


async def test_quote_agrees_with_the_broker(api):
    _, token, _ = await api.signup("quoter")
    client_id, dhan_token = await api.sim_client()
    body = await api.until(lambda: api.http.get("/api/market/quote/RELIANCE",
                                                headers=api.bearer(token)),
                           lambda q: Decimal(q["ltp"]) > 0, what="a RELIANCE quote")
    assert body["securityId"] == "2885" and body["segment"] == "NSE_EQ"
    broker = await api.sim_ltp(client_id, dhan_token)
    # both replay the same real prices; seconds apart they stay within a percent
    assert abs(Decimal(body["ltp"]) - broker) / broker < Decimal("0.01"), (body, broker)
    r = await api.http.get("/api/market/quote/NOSUCHSYMBOL", headers=api.bearer(token))
    api.error(r, 404, "NOT_FOUND")


async def test_a_day_of_one_minute_history_matches_the_broker(api):
    _, token, _ = await api.signup("charter")
    r = await api.http.get("/api/market/historical", headers=api.bearer(token), params={
        "symbol": "RELIANCE", "interval": "1m", "from": DAY_FROM, "to": DAY_TO}, timeout=30)
    assert r.status_code == 200, r.text
    candles = r.json()["candles"]
    stamps = [datetime.fromisoformat(c["ts"]) for c in candles]
    assert 370 <= len(candles) <= 376 and stamps == sorted(stamps)
    assert all(Decimal(c["low"]) <= Decimal(c["open"]) <= Decimal(c["high"]) for c in candles)
    # the same minutes, as Dhan's intraday chart API gives them to a broker client
    client_id, dhan_token = await api.sim_client()
    async with httpx.AsyncClient(base_url=f"{api.e2e.sim_url}/v2", timeout=10, headers={
            "access-token": dhan_token, "client-id": client_id}) as sim:
        d = await sim.post("/charts/intraday", json={
            "securityId": "2885", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
            "interval": "1", "fromDate": "2025-07-22 09:15:00", "toDate": "2025-07-22 15:30:00"})
    assert d.status_code == 200, d.text
    closes = dict(zip(d.json()["timestamp"], d.json()["close"], strict=True))
    ours = {int(s.timestamp()): Decimal(c["close"]) for s, c in zip(stamps, candles, strict=True)}
    shared = set(ours) & set(closes)
    assert len(shared) >= 370
    assert all(abs(ours[t] - Decimal(str(closes[t]))) < Decimal("0.01") for t in shared)


async def test_market_status_tells_the_session(api):
    _, token, _ = await api.signup("watcher")
    r = await api.http.get("/api/market/status", headers=api.bearer(token))
    assert r.status_code == 200, r.text
    nse = {s["segment"]: s for s in r.json()["segments"]}["NSE_EQ"]
    # the simulated clock runs inside Wednesday 23 July 2025's session
    assert nse["open"] is True and nse["sessionClose"].startswith("2025-07-23T10:00")


async def test_ticks_arrive_over_ws_until_unsubscribed(api):
    _, token, _ = await api.signup("ticker")
    tcs = {"segment": "NSE_EQ", "securityId": "11536"}
    async with api.socket(token) as ws:
        await ws.send(json.dumps({"type": "subscribe", "instruments": [tcs]}))
        ticks = []
        while len(ticks) < 2:  # a second tick proves a stream, not a snapshot
            msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert msg["type"] in ("subscribed", "tick", "event"), msg
            if msg["type"] == "tick":
                ticks.append(msg["data"])
        assert {(t["segment"], t["securityId"]) for t in ticks} == {("NSE_EQ", "11536")}
        # prices in paise; TCS trades in the thousands of rupees
        assert all(100_000 < t["ltp"] < 1_000_000 for t in ticks), ticks
        await ws.send(json.dumps({"type": "unsubscribe", "instruments": [tcs]}))
        while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "unsubscribed":
            assert msg["type"] in ("tick", "event"), msg
        await ws.send(json.dumps({"type": "subscribe", "instruments": [
            {"segment": "NSE_EQ", "securityId": "*"}]}))
        while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] == "tick":
            pass  # conflated ticks sent before the unsubscribe took effect
        assert msg["type"] == "error" and msg["error"] == "BAD_MESSAGE", msg

"""REST conventions, errors, rate limits, admin clock, faults and the consent flow."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from dhansim.testing import run_simulator

from .conftest import until
from .test_orders import order, place, wait_status


async def test_auth_errors_and_unknown_paths(sim, client):
    r = await client.get("/orders", headers={"access-token": "nope"})
    assert r.status_code == 401 and r.json() == {
        "errorType": "Invalid_Authentication", "errorCode": "DH-901",
        "errorMessage": "Client ID or user generated access token is invalid or expired."}
    r = await client.get("/orders", headers={"client-id": "1234567890"})
    assert r.json()["errorCode"] == "DH-901"
    r = await client.post("/marketfeed/ltp", json={"NSE_EQ": [2885]},
                          headers={"client-id": ""})
    assert r.status_code == 401 and r.json()["errorCode"] == "DH-901"
    r = await client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["path"] == "/v2/no/such/path"
    assert (await client.get("/orders/123")).json() == []
    r = await client.get("/orders/external/unknown")
    assert r.status_code == 404 and r.json()["errorCode"] == "DH-906"


async def test_bad_input_is_dh905_and_numeric_strings_are_accepted(sim, client):
    r = await client.post("/orders", json=order(correlationId=""))
    assert r.status_code == 400 and r.json()["errorCode"] == "DH-905"
    r = await client.post("/orders", json=order(transactionType="HOLD"))
    assert r.json()["errorCode"] == "DH-905"
    r = await client.post("/orders", json=order(orderType="LIMIT", price=0))
    assert r.json()["errorMessage"] == "Invalid Price for orderType"
    r = await client.post("/orders", content=b"{not json")
    assert r.json()["errorCode"] == "DH-905"
    r = await client.post("/orders", json=order(quantity="5", price="1300.0"))
    assert r.status_code == 200
    assert (await wait_status(client, r.json()["orderId"], "PENDING"))["quantity"] == 5


async def test_order_rate_limit_is_ten_per_second():
    async with run_simulator(paused=True, rate_limits=True) as sim:
        cid, tok = sim.create_client()
        sim.sim.limiter.wall = lambda: 1000.0  # freeze the windows: a slow machine cannot leak
        async with httpx.AsyncClient(base_url=sim.api_base,
                                     headers={"access-token": tok, "client-id": cid}) as c:
            codes = [(await c.post("/orders", json=order(price=1300.0))).status_code
                     for _ in range(11)]
            assert codes == [200] * 10 + [429]
            body = (await c.post("/orders", json=order(price=1300.0))).json()
            assert body["errorCode"] == "DH-904" and body["errorType"] == "Rate_Limit"
            assert (await c.get("/orders")).status_code == 200  # other category
            assert (await c.post("/marketfeed/ltp", json={"NSE_EQ": [2885]})).status_code == 200
            assert (await c.post("/marketfeed/ltp", json={"NSE_EQ": [2885]})).status_code == 429


async def test_clock_admin_shape_and_control(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        clock = (await admin.get("/sim/clock")).json()
        assert set(clock) == {"now", "nowIst", "speed", "paused", "anchorSim", "anchorWall",
                              "epoch"}
        assert clock["now"] == "2025-07-23T03:45:00.000Z" and clock["paused"] is True
        assert clock["nowIst"].startswith("2025-07-23T09:15:00")
        moved = (await admin.put("/sim/clock", json={"at": "2025-07-23T10:00:00+05:30",
                                                     "speed": 2.0})).json()
        assert moved["now"] == "2025-07-23T04:30:00.000Z" and moved["speed"] == 2.0
        assert moved["epoch"] == clock["epoch"] + 1
        resumed = (await admin.put("/sim/clock", json={"paused": False})).json()
        assert resumed["paused"] is False and resumed["epoch"] == moved["epoch"] + 1
        bad = await admin.put("/sim/clock", json={"speed": -1})
        assert bad.status_code == 400


async def test_admin_creates_clients_with_funds(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        made = (await admin.post("/sim/clients", json={"funds": 250000})).json()
        funds = await admin.get("/v2/fundlimit", headers={
            "access-token": made["accessToken"], "client-id": made["dhanClientId"]})
        assert funds.json()["availabelBalance"] == 250000.0
        assert funds.json()["sodLimit"] == 250000.0


async def test_forced_5xx_429_and_latency(sim, client):
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        await admin.post("/sim/faults", json={"fail5xx": 2, "fail429": 1})
        statuses = [(await client.get("/fundlimit")).status_code for _ in range(4)]
        assert statuses == [500, 500, 429, 200]
        await admin.post("/sim/faults", json={"fail5xx": 1, "status5xx": 503})
        r = await client.get("/fundlimit")
        assert r.status_code == 503 and r.json()["errorCode"] == "DH-909"
        await admin.post("/sim/faults", json={"latencyMs": 300})
        r = await client.get("/profile")
        assert r.elapsed.total_seconds() >= 0.3
        assert (await admin.delete("/sim/faults")).json()["latencyMs"] == 0


async def test_dropped_response_after_accept_keeps_the_order(sim, client):
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        await admin.post("/sim/faults", json={"dropAfterAccept": 1})
    with pytest.raises(httpx.TransportError):
        await client.post("/orders", json=order(price=1300.0, correlationId="intent-42"))
    found = (await client.get("/orders/external/intent-42")).json()
    assert found["correlationId"] == "intent-42"
    assert (await client.post("/orders", json=order(price=1300.0))).status_code == 200


async def test_consent_flow_and_token_renewal(sim):
    made = sim.sim.create_client(redirect_url="http://127.0.0.1:1/callback")
    cid, old = made["dhanClientId"], made["accessToken"]
    keys = {"app_id": made["apiKey"], "app_secret": made["apiSecret"]}
    async with httpx.AsyncClient(base_url=sim.auth_url) as auth:
        consent = (await auth.post(f"/app/generate-consent?client_id={cid}",
                                   headers=keys)).json()
        assert consent["status"] == "success" and consent["consentAppStatus"] == "GENERATED"
        login = await auth.get("/login/consentApp-login",
                               params={"consentAppId": consent["consentAppId"]})
        assert login.status_code == 302
        token_id = httpx.URL(login.headers["location"]).params["tokenId"]
        got = (await auth.get("/app/consumeApp-consent", params={"tokenId": token_id},
                              headers=keys)).json()
        assert got["dhanClientId"] == cid and got["accessToken"] != old
        new = got["accessToken"]
        assert (await auth.get("/v2/profile", headers={"access-token": old})).status_code == 401
        profile = await auth.get("/v2/profile", headers={"access-token": new, "dhanClientId": cid})
        assert profile.json()["dhanClientId"] == cid
        renewed = (await auth.get("/v2/RenewToken", headers={"access-token": new,
                                                            "dhanClientId": cid})).json()
        assert renewed["token"] == renewed["accessToken"] != new
        post = await auth.post("/v2/RenewToken", headers={"access-token": renewed["token"]})
        assert post.status_code == 400 and post.json()["errorCode"] == "DH-905"


async def test_kill_switch_blocks_trading(sim, client):
    r = await client.post("/killswitch?killSwitchStatus=ACTIVATE")
    assert r.json()["killSwitchStatus"] == "Kill Switch has been successfully activated"
    assert (await client.get("/killswitch")).json()["killSwitchStatus"] == "ACTIVATE"
    oid = await place(client, price=1300.0)
    assert "Kill switch" in (await wait_status(client, oid, "REJECTED"))["omsErrorDescription"]


async def test_instrument_files_and_margin(sim, client):
    async with httpx.AsyncClient(base_url=sim.rest_url) as raw:
        master = (await raw.get("/api-data/api-scrip-master.csv")).text
    assert master.startswith("SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID")
    assert "NSE,E,2885,EQUITY,0,RELIANCE" in master and "NSE,I,13,INDEX" in master
    fno = (await client.get("/instrument/NSE_FNO")).text.splitlines()
    assert fno[0].startswith("EXCH_ID,SEGMENT,SECURITY_ID,ISIN,INSTRUMENT")
    assert len(fno) > 40 and all(line.startswith("NSE,D,") for line in fno[1:])
    assert any(line.startswith("NSE,D,53021,NA,FUTSTK,2885,RELIANCE,RELIANCE-Jul2025-FUT,")
               for line in fno)
    async with httpx.AsyncClient(base_url=sim.rest_url) as raw:
        detailed = (await raw.get("/api-data/api-scrip-master-detailed.csv")).text
    assert "NSE,E,2885,NA,EQUITY,,RELIANCE,RELIANCE INDUSTRIES LTD,Reliance Industries" in detailed
    margin = (await client.post("/margincalculator", json={
        "exchangeSegment": "NSE_EQ", "transactionType": "BUY", "quantity": 5,
        "productType": "CNC", "securityId": "2885", "price": 1400.0})).json()
    assert margin["totalMargin"] == 7000.0 and margin["leverage"] == "1.00"


async def test_order_socket_rejects_a_bad_login(sim):
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.order_url) as ws:
        await ws.send_json({"LoginReq": {"MsgCode": 42, "ClientId": "1", "Token": "x"},
                            "UserType": "SELF"})
        msg = await ws.receive_json(timeout=5)
        assert msg["errorCode"] == "DH-901"
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_expired_token_closes_the_order_socket(sim, client):
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.order_url) as ws:
        await ws.send_json({"LoginReq": {"MsgCode": 42, "ClientId": client.client_id,
                                         "Token": client.token}, "UserType": "SELF"})
        await until(lambda: sim.sim.order_hub.count(client.client_id) == 1)
        async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
            await admin.post("/sim/faults", json={"expireToken": client.client_id})
        assert (await ws.receive_json(timeout=5))["errorCode"] == "DH-901"
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

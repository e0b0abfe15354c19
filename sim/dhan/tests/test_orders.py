"""Order lifecycle against real RELIANCE ticks of 2025-07-23 (first 1m bar O1426 H1426
L1418.4 C1419.6, ticks at :00 :15 :30 :45), rejections, expiry, positions and funds."""

from __future__ import annotations

import aiohttp
import pytest

from .conftest import until

REL = {"exchangeSegment": "NSE_EQ", "securityId": "2885"}


def order(**kw) -> dict:
    body = {"transactionType": "BUY", "productType": "INTRADAY", "orderType": "LIMIT",
            "validity": "DAY", "quantity": 10, "price": 1400.0, **REL}
    body.update(kw)
    return body


async def place(client, **kw) -> str:
    r = await client.post("/orders", json=order(**kw))
    assert r.status_code == 200, r.text
    assert r.json()["orderStatus"] == "TRANSIT"
    return r.json()["orderId"]


async def wait_status(client, oid: str, *statuses: str) -> dict:
    async def check():
        got = (await client.get(f"/orders/{oid}")).json()
        return got and got[0]["orderStatus"] in statuses and got[0]

    return await until(check)


async def test_resting_limit_fills_when_the_market_comes_to_it(sim, client):
    oid = await place(client, price=1419.0)
    assert (await wait_status(client, oid, "PENDING"))["exchangeOrderId"]
    sim.set_clock(at="2025-07-23T09:15:31")
    filled = await wait_status(client, oid, "TRADED")
    assert filled["averageTradedPrice"] == 1418.5  # ask above the 1418.4 trade
    trades = (await client.get(f"/trades/{oid}")).json()
    assert [t["tradedQuantity"] for t in trades] == [10]


async def test_stop_loss_market_triggers_and_fills(sim, client):
    oid = await place(client, transactionType="SELL", orderType="STOP_LOSS_MARKET", price=0,
                      triggerPrice=1420.0)
    await wait_status(client, oid, "PENDING")
    sim.set_clock(at="2025-07-23T09:15:31")
    filled = await wait_status(client, oid, "TRADED")
    assert filled["averageTradedPrice"] == 1418.3 and filled["orderType"] == "STOP_LOSS_MARKET"


async def test_large_option_order_fills_partially_then_fully(sim, client):
    body = {"exchangeSegment": "NSE_FNO", "securityId": "54011", "quantity": 1800,
            "price": 200.0}
    oid = await place(client, **body)
    part = await wait_status(client, oid, "PART_TRADED")
    assert 0 < part["filledQty"] < 1800 and part["filledQty"] % 75 == 0
    sim.set_clock(speed=600.0, paused=False)  # each later trade adds touch liquidity
    done = await wait_status(client, oid, "TRADED")
    assert done["filledQty"] == 1800 and len((await client.get(f"/trades/{oid}")).json()) > 1


@pytest.mark.parametrize(("kw", "reason"), [
    ({"quantity": 10_000, "productType": "CNC", "price": 1426.0}, "Margin Shortfall"),
    ({"securityId": "999999"}, "Invalid Security ID"),
    ({"exchangeSegment": "NSE_FNO", "securityId": "53001", "quantity": 10, "price": 25100.0},
     "multiples of lot size 75"),
    ({"price": 2000.0}, "Circuit Limits of 1130.20 to 1695.40"),
    ({"price": 1400.05}, "tick size"),
    ({"transactionType": "SELL", "productType": "CNC"}, "Insufficient holdings"),
])
async def test_rms_rejections_carry_dhan_style_reasons(sim, client, kw, reason):
    oid = await place(client, **kw)
    rejected = await wait_status(client, oid, "REJECTED")
    assert reason in rejected["omsErrorDescription"]


async def test_market_closed_rejection_and_day_expiry(sim, client):
    resting = await place(client, price=1300.0, productType="CNC")
    await wait_status(client, resting, "PENDING")
    sim.set_clock(at="2025-07-23T15:30:00")
    expired = await wait_status(client, resting, "EXPIRED")
    assert expired["remainingQuantity"] == 10
    late = await place(client, price=1300.0)
    assert "Market is Closed" in (await wait_status(client, late, "REJECTED"))[
        "omsErrorDescription"]


async def test_ioc_without_liquidity_at_its_price_is_cancelled(sim, client):
    oid = await place(client, validity="IOC", price=1300.0)
    assert (await wait_status(client, oid, "CANCELLED"))["filledQty"] == 0


async def test_round_trip_moves_positions_and_funds(sim, client):
    buy = await place(client, orderType="MARKET", price=0, quantity=100)
    bought = await wait_status(client, buy, "TRADED")
    sim.set_clock(at="2025-07-23T10:30:00")
    sell = await place(client, transactionType="SELL", orderType="MARKET", price=0, quantity=100)
    sold = await wait_status(client, sell, "TRADED")
    pnl = round((sold["averageTradedPrice"] - bought["averageTradedPrice"]) * 100, 2)
    pos = (await client.get("/positions")).json()[0]
    assert pos["positionType"] == "CLOSED" and pos["realizedProfit"] == pytest.approx(pnl)
    funds = (await client.get("/fundlimit")).json()
    assert funds["availabelBalance"] == pytest.approx(1_000_000 + pnl, abs=0.01)


async def test_modify_and_cancel(sim, client):
    oid = await place(client, price=1300.0)
    await wait_status(client, oid, "PENDING")
    r = await client.put(f"/orders/{oid}", json={"orderId": oid, "orderType": "LIMIT",
                                                 "quantity": 20, "price": 1427.0,
                                                 "validity": "DAY", "legName": None,
                                                 "disclosedQuantity": 0, "triggerPrice": 0})
    assert r.status_code == 200 and r.json()["orderId"] == oid
    assert (await wait_status(client, oid, "TRADED"))["filledQty"] == 20
    other = await place(client, price=1300.0)
    await wait_status(client, other, "PENDING")
    r = await client.delete(f"/orders/{other}")
    assert r.status_code == 202 and r.json()["orderStatus"] == "CANCELLED"
    again = await client.delete(f"/orders/{other}")
    assert again.status_code == 400 and again.json()["errorCode"] == "DH-906"


async def test_cancel_while_in_transit_is_refused(sim):
    client_id, _ = sim.create_client()
    exchange = sim.sim.exchange
    acc = exchange.accounts[client_id]
    placed = exchange.place(acc, {**order(), "price": 1300.0})
    with pytest.raises(Exception) as err:
        exchange.cancel(acc, placed.order_id)
    assert err.value.code == "DH-906" and "Transit" in err.value.message


async def test_slicing_splits_at_the_freeze_quantity(sim, client):
    r = await client.post("/orders/slicing", json=order(
        exchangeSegment="NSE_FNO", securityId="54011", quantity=4500, price=100.0))
    assert [s["orderStatus"] for s in r.json()] == ["TRANSIT"] * 3
    quantities = [o["quantity"] for o in (await client.get("/orders")).json()]
    assert quantities == [1800, 1800, 900]


async def test_delivery_buy_settles_into_holdings_next_day(sim, client):
    oid = await place(client, productType="CNC", orderType="MARKET", price=0, quantity=3)
    bought = await wait_status(client, oid, "TRADED")
    assert (await client.get("/holdings")).json()["errorCode"] == "DH-1111"
    sim.set_clock(at="2025-07-24T09:00:00")
    await until(lambda: sim.sim.exchange.day.isoformat() == "2025-07-24")
    holding = (await client.get("/holdings")).json()[0]
    assert holding["totalQty"] == 3 and holding["avgCostPrice"] == bought["averageTradedPrice"]
    assert (await client.get("/orders")).json() == []


async def test_open_orders_block_funds_until_cancelled(sim, client):
    oid = await place(client, price=1300.0, quantity=10)
    await wait_status(client, oid, "PENDING")
    funds = (await client.get("/fundlimit")).json()
    assert funds["availabelBalance"] == 1_000_000 - 0.2 * 10 * 1300.0
    assert funds["utilizedAmount"] == 2600.0
    await client.delete(f"/orders/{oid}")
    assert (await client.get("/fundlimit")).json()["availabelBalance"] == 1_000_000


async def test_at_most_25_modifications_per_order(sim, client):
    oid = await place(client, price=1300.0)
    await wait_status(client, oid, "PENDING")
    for k in range(25):
        r = await client.put(f"/orders/{oid}", json={"price": 1300.0 - 0.1 * (k + 1)})
        assert r.status_code == 200, r.text
    r = await client.put(f"/orders/{oid}", json={"price": 1290.0})
    assert r.status_code == 400 and r.json()["errorCode"] == "DH-906"


async def test_exit_all_closes_open_positions(sim, client):
    oid = await place(client, orderType="MARKET", price=0, quantity=5)
    await wait_status(client, oid, "TRADED")
    assert (await client.delete("/positions")).json()["status"] == "SUCCESS"

    async def flat():
        positions = (await client.get("/positions")).json()
        return positions and positions[0]["netQty"] == 0

    await until(flat)


async def test_intraday_positions_are_squared_off_at_1520(sim, client):
    bought = await place(client, orderType="MARKET", price=0, quantity=7)
    await wait_status(client, bought, "TRADED")
    resting = await place(client, price=1300.0)
    await wait_status(client, resting, "PENDING")
    sim.set_clock(at="2025-07-23T15:20:00")
    assert "square-off" in (await wait_status(client, resting, "CANCELLED"))[
        "omsErrorDescription"]

    async def closed():
        book = (await client.get("/orders/external/AUTO-SQUAREOFF"))
        return book.status_code == 200 and book.json()["orderStatus"] == "TRADED"

    await until(closed)
    assert (await client.get("/positions")).json()[0]["netQty"] == 0


async def test_after_market_order_waits_for_the_next_session(sim, client):
    sim.set_clock(at="2025-07-23T16:00:00")
    oid = await place(client, productType="CNC", price=1500.0, quantity=2,
                      afterMarketOrder=True, amoTime="OPEN")
    pending = await wait_status(client, oid, "PENDING")
    assert pending["afterMarketOrder"] is True and pending["filledQty"] == 0
    sim.set_clock(at="2025-07-24T09:15:00")
    filled = await wait_status(client, oid, "TRADED")
    assert filled["averageTradedPrice"] < 1500.0


async def test_order_socket_streams_every_state_change(sim, client):
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.order_url) as ws:
        await ws.send_json({"LoginReq": {"MsgCode": 42, "ClientId": client.client_id,
                                         "Token": client.token}, "UserType": "SELF"})
        await until(lambda: sim.sim.order_hub.count(client.client_id) == 1)
        oid = await place(client, exchangeSegment="NSE_FNO", securityId="54011",
                          quantity=1800, price=200.0)
        statuses = []
        while "PART_TRADED" not in statuses:
            frame = await ws.receive_json(timeout=5)
            assert frame["Type"] == "order_alert" and frame["Data"]["OrderNo"] == oid
            statuses.append(frame["Data"]["Status"])
        assert statuses[:2] == ["TRANSIT", "PENDING"]
        assert frame["Data"]["TradedQty"] > 0 and frame["Data"]["Segment"] == "D"

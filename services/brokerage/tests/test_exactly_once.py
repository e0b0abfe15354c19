"""Exactly one broker order per intent, whatever Dhan does to the first send (issue 3 §3)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from brokerage.app import build_app
from brokerage.testing import call, make_settings, order_intent, publish_intent, until
from contracts import brokerage as b
from contracts import orders as o
from contracts.events.orders import ORDER_EVENT_NAMES

pytestmark = pytest.mark.integration
FAULTS = {
    "response dropped after acceptance": {"dropAfterAccept": 1},
    "Dhan answers 5xx": {"fail5xx": 2},
    "Dhan answers 429": {"fail429": 2},
    "Dhan is slow": {"latencyMs": 300},
}


def sim_orders(sim, client_id: str, correlation_id: str) -> list:
    """Return the simulator's orders carrying one correlation id."""
    return [o for o in sim.sim.exchange.accounts[client_id].orders.values()
            if o.correlation_id == correlation_id]


async def link_dhan(nc, sim, user: str) -> tuple[str, dict]:
    """Create a simulated Dhan client and link it for `user`."""
    client_id, token = sim.create_client(funds=1_000_000)
    account = await call(nc, b.LINK_ACCOUNT, {"broker": "dhan", "dhanClientId": client_id,
                                              "accessToken": token}, user)
    return client_id, account


def orders_drained(app):
    """Return a predicate: every intent on the work queue was handled and acked."""
    async def check():
        return (await app.js.stream_info("ORDERS")).state.messages == 0
    return check


async def order_of(nc, user: str, intent_id: str) -> dict | None:
    page = await call(nc, o.LIST_ORDERS, {"pageSize": 200}, user)
    return next((x for x in page["items"] if x["intentId"] == intent_id), None)


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
async def test_one_broker_order_per_intent_under_faults(fault, app, nc, sim, events):
    client_id, account = await link_dhan(nc, sim, "u1")
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        (await admin.post("/sim/faults", json=FAULTS[fault])).raise_for_status()
    intent = order_intent(account["id"], "u1", app.clock.now())
    await publish_intent(app.js, intent)

    async def settled():
        row = await order_of(nc, "u1", intent.intent_id)
        return row if row and row["status"] in ("accepted", "partially_filled", "filled") else None

    row = await until(settled, timeout=20)
    # A redelivery (execution retrying with a new message id) must not place a second order.
    await publish_intent(app.js, intent, msg_id=intent.intent_id + "-again")
    await until(orders_drained(app))
    await until(lambda: len(events.of(".order.filled")) >= 1, timeout=20)
    assert len(sim_orders(sim, client_id, intent.intent_id)) == 1
    pending = sim.sim.faults.to_json()
    assert pending["dropAfterAccept"] == pending["fail5xx"] == pending["fail429"] == 0
    assert row["brokerOrderId"] == sim_orders(sim, client_id, intent.intent_id)[0].order_id
    names = {s.rsplit(".", 1)[1] for s, _ in events.items if ".order." in s}
    assert names <= set(ORDER_EVENT_NAMES.values())
    filled = events.of(".order.filled")
    assert len(filled) == 1 and filled[0]["intentId"] == intent.intent_id
    assert filled[0]["filledQuantity"] == 1 and isinstance(filled[0]["averagePrice"], int)


async def test_stale_intent_is_refused_with_an_event_and_never_sent(app, nc, sim, events):
    client_id, account = await link_dhan(nc, sim, "u1")
    from datetime import timedelta
    old = order_intent(account["id"], "u1", app.clock.now() - timedelta(seconds=120))
    await publish_intent(app.js, old)
    stale = await until(lambda: events.of(".order.stale"))
    assert stale[0]["intentId"] == old.intent_id and stale[0]["status"] == "stale"
    assert sim_orders(sim, client_id, old.intent_id) == []
    row = await order_of(nc, "u1", old.intent_id)
    assert row["status"] == "stale" and row["brokerOrderId"] is None


async def test_an_intent_the_broker_could_not_take_is_rejected_with_an_event(app, nc, sim,
                                                                           events):
    client_id, account = await link_dhan(nc, sim, "u1")
    intent = order_intent(account["id"], "u1", app.clock.now(), order_type="LIMIT")
    await publish_intent(app.js, intent)
    rejected = await until(lambda: events.of("u1.order.rejected"))
    assert rejected[0]["reason"] == "price is required for LIMIT and STOP_LOSS orders"
    assert sim_orders(sim, client_id, intent.intent_id) == []
    await until(orders_drained(app))


async def test_intent_for_someone_elses_account_is_rejected(app, nc, sim, events):
    client_id, account = await link_dhan(nc, sim, "owner")
    intent = order_intent(account["id"], "intruder", app.clock.now())
    await publish_intent(app.js, intent)
    rejected = await until(lambda: events.of("intruder.order.rejected"))
    assert rejected[0]["reason"] == "Brokerage account not found"
    assert sim_orders(sim, client_id, intent.intent_id) == []


async def test_reconciliation_alone_drives_orders_and_fills_when_the_socket_is_down(
        sim, nc, nats_url, pg_service_dsn, redis_url, redis_prefix, events):
    settings = make_settings(sim, nats_url, pg_service_dsn("brokerage"), redis_url, redis_prefix,
                             order_stream=False)
    async with build_app(settings) as app:
        client_id, account = await link_dhan(nc, sim, "u1")
        intent = order_intent(account["id"], "u1", app.clock.now(), quantity=3)
        await publish_intent(app.js, intent)
        await until(lambda: events.of(".order.filled"), timeout=20)
        row = await order_of(nc, "u1", intent.intent_id)
        assert row["status"] == "filled" and row["filledQuantity"] == 3
        trades = (await call(nc, o.LIST_TRADES, {"orderId": row["id"]}, "u1"))["items"]
        assert sum(t["quantity"] for t in trades) == 3 and Decimal(trades[0]["charges"]) > 0
        positions = (await call(nc, b.PORTFOLIO_POSITIONS, {}, "u1"))["items"]
        assert positions[0]["netQuantity"] == 3
        assert len(sim_orders(sim, client_id, intent.intent_id)) == 1


async def test_a_day_order_left_open_expires_with_its_day(sim, nc, nats_url, pg_service_dsn,
                                                          redis_url, redis_prefix, events):
    settings = make_settings(sim, nats_url, pg_service_dsn("brokerage"), redis_url, redis_prefix,
                             order_stream=False)
    async with build_app(settings) as app:
        _, account = await link_dhan(nc, sim, "u1")
        order = await call(nc, o.PLACE_ORDER, {
            "accountId": account["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
            "transactionType": "BUY", "quantity": 1, "orderType": "LIMIT", "price": "1380",
            "productType": "INTRADAY"}, "u1")
        await until(lambda: events.of(".order.accepted"))
        sim.set_clock("2025-07-24T09:20:00")
        await app.clock.sync()
        expired = await until(lambda: events.of(".order.expired"), timeout=15)
        assert expired[0]["orderId"] == order["id"]
        assert (await call(nc, o.GET_ORDER, {"orderId": order["id"]}, "u1"))["status"] == "expired"

"""Paper accounts fill against live ticks with the simulator's rules and Indian charges."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from brokerage.adapters.paper.charges import charges
from brokerage.testing import call, order_intent, publish_intent, until
from contracts import brokerage as b
from contracts import orders as o
from contracts import subjects

pytestmark = pytest.mark.integration
RELIANCE = "2885"


async def tick(nc, ltp: str, bid: str | None = None, ask: str | None = None, **extra) -> None:
    """Publish a tick the way marketdata does (integer paise)."""
    body = {"segment": "NSE_EQ", "securityId": RELIANCE, "ltp": int(Decimal(ltp) * 100), **extra}
    if bid:
        body["bid"] = int(Decimal(bid) * 100)
    if ask:
        body["ask"] = int(Decimal(ask) * 100)
    await nc.publish(subjects.tick("NSE_EQ", RELIANCE), orjson.dumps(body))
    await nc.flush()


def order_body(account_id: str, **kw) -> dict:
    return {"accountId": account_id, "securityId": RELIANCE, "exchangeSegment": "NSE_EQ",
            "transactionType": "BUY", "quantity": 10, "orderType": "MARKET",
            "productType": "INTRADAY", **kw}


async def test_paper_market_and_limit_orders_fill_on_ticks_with_charges(app, nc, events):
    paper = await call(nc, b.LINK_ACCOUNT, {"broker": "paper", "startingCapital": "100000"}, "u1")
    aid = paper["id"]
    buy = await call(nc, o.PLACE_ORDER, order_body(aid), "u1")
    assert buy["status"] == "accepted"  # no tick yet: it waits for the market
    await tick(nc, "1410.50", bid="1410.40", ask="1410.60")
    filled = await until(lambda: events.of(".order.filled"))
    assert filled[0]["averagePrice"] == 141060 and filled[0]["lastFillPrice"] == 141060
    sell = await call(nc, o.PLACE_ORDER, order_body(aid, transactionType="SELL",
                                                    orderType="LIMIT", price="1420"), "u1")
    assert sell["status"] == "accepted"
    await tick(nc, "1415", bid="1414.9", ask="1415.1")
    assert (await call(nc, o.GET_ORDER, {"orderId": sell["id"]}, "u1"))["status"] == "accepted"
    await tick(nc, "1421", bid="1420.5", ask="1421.1", bidQty=4)
    await until(lambda: events.of(".order.partially_filled"))
    await tick(nc, "1421", bid="1420.5", ask="1421.1")
    await until(lambda: len(events.of(".order.filled")) == 2)

    trades = (await call(nc, o.LIST_TRADES, {"accountId": aid}, "u1"))["items"]
    assert sorted(t["quantity"] for t in trades) == [4, 6, 10]
    today = app.clock.now().date()
    expected = sum((charges(segment="NSE_EQ", product="INTRADAY", side=t["transactionType"],
                            quantity=t["quantity"], price=Decimal(t["price"]), on=today)
                    for t in trades), Decimal(0))
    assert sum(Decimal(t["charges"]) for t in trades) == expected > 0

    positions = (await call(nc, b.PORTFOLIO_POSITIONS, {"accountId": aid}, "u1"))["items"]
    assert len(positions) == 1 and positions[0]["netQuantity"] == 0
    realized = (Decimal("1420.5") - Decimal("1410.6")) * 10
    assert Decimal(positions[0]["realizedPnl"]) == realized
    summary = await call(nc, b.PORTFOLIO_SUMMARY, {"accountId": aid}, "u1")
    assert Decimal(summary["availableFunds"]) == Decimal(100000) + realized - expected
    assert Decimal(summary["totalPnl"]) == realized - expected
    pnl = await call(nc, b.PORTFOLIO_PNL, {}, "u1")
    assert Decimal(pnl["netPnl"]) == realized - expected
    history = await call(nc, b.PORTFOLIO_HISTORY, {"accountId": aid}, "u1")
    assert len(history["items"]) == 1


async def test_paper_refuses_what_the_capital_cannot_pay_and_fills_strategy_intents(app, nc,
                                                                                    events):
    paper = await call(nc, b.LINK_ACCOUNT, {"broker": "paper", "startingCapital": "10000"}, "u1")
    await tick(nc, "1400", bid="1399.9", ask="1400.1")
    big = await call(nc, o.PLACE_ORDER, order_body(paper["id"], productType="CNC"), "u1")
    assert big["status"] == "accepted"  # no quote was known yet: checked at the first fill
    await tick(nc, "1400", bid="1399.9", ask="1400.1")
    rejected = await until(lambda: events.of(".order.rejected"))
    assert "Insufficient funds" in rejected[0]["reason"]
    again = await call(nc, o.PLACE_ORDER, order_body(paper["id"], productType="CNC"), "u1")
    assert again["status"] == "rejected" and "Insufficient funds" in again["reason"]
    intent = order_intent(paper["id"], "u1", app.clock.now(), quantity=5, product="CNC")
    await publish_intent(app.js, intent)
    filled = await until(lambda: events.of(".order.filled"))
    assert filled[0]["intentId"] == intent.intent_id and filled[0]["deploymentId"] == "dep-1"
    holdings = (await call(nc, b.PORTFOLIO_HOLDINGS, {}, "u1"))["items"]
    assert holdings[0]["quantity"] == 5 and holdings[0]["averagePrice"].startswith("1400.1")


async def test_paper_stop_loss_triggers_and_cancel_works(app, nc, events):
    paper = await call(nc, b.LINK_ACCOUNT, {"broker": "paper"}, "u1")
    await tick(nc, "1400", bid="1399.9", ask="1400.1")
    stop = await call(nc, o.PLACE_ORDER, order_body(paper["id"], orderType="STOP_LOSS_MARKET",
                                                    triggerPrice="1410"), "u1")
    rest = await call(nc, o.PLACE_ORDER, order_body(paper["id"], orderType="LIMIT",
                                                    price="1300"), "u1")
    await tick(nc, "1405", bid="1404.9", ask="1405.1")
    assert (await call(nc, o.GET_ORDER, {"orderId": stop["id"]}, "u1"))["status"] == "accepted"
    await tick(nc, "1410", bid="1409.9", ask="1410.1")
    await until(lambda: events.of(".order.filled"))
    assert (await call(nc, o.GET_ORDER, {"orderId": stop["id"]}, "u1"))["averagePrice"] \
        .startswith("1410.1")
    done = await call(nc, o.CANCEL_ORDER, {"orderId": rest["id"]}, "u1")
    assert done["status"] == "cancelled"

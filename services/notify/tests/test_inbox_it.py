"""In-app notifications end to end: events in, the user's inbox over NATS, live events out."""

from __future__ import annotations

import orjson
from contracts import notify as N
from contracts.events import new_event_fields
from contracts.events.backtest import BacktestCompleted
from contracts.events.execution import DeploymentStarted
from contracts.events.orders import OrderFailed, OrderPlaced

from .conftest import base, eventually, uid


def order(cls, user: str, order_id: str, reason: str | None = None, **kw):
    """Build an order event the way brokerage does."""
    return cls(**new_event_fields(), order_id=order_id, intent_id="i" + order_id[:10], user_id=user,
               account_id="acc1", deployment_id="dep1", security_id="2885",
               exchange_segment="NSE_EQ", transaction_type="BUY", quantity=10,
               status="FAILED" if reason else "PENDING", reason=reason, **kw)


async def inbox(bus, user: str, **query) -> dict:
    return await bus.call(user, N.LIST, query)


async def test_order_backtest_and_deployment_become_notifications_with_live_events(app, bus, nc):
    user = uid()
    live: list[tuple[str, dict]] = []

    async def on(msg):
        live.append((msg.subject, orjson.loads(msg.data)))

    await nc.subscribe(f"evt.{user}.notification.>", cb=on)
    await bus.publish(user, "order", "placed", order(OrderPlaced, user, "o-1"))
    await bus.publish(user, "backtest", "completed", BacktestCompleted(
        **new_event_fields(), backtest_id="bt-1", user_id=user, strategy_id="s1",
        strategy_version_id="v1", total_trades=4, net_profit_paise=150000))
    await bus.publish(user, "deployment", "started", DeploymentStarted(
        **new_event_fields(), deployment_id="dep-1", strategy_id="s1", strategy_version_id="v1",
        user_id=user, account_id="acc1", status="active"))
    page = await eventually(lambda: _total(bus, user, 3), what="three notifications")
    by_type = {n["type"]: n for n in page["items"]}
    assert by_type["ORDER_PLACED"]["link"] == "/orders/o-1"
    assert by_type["BACKTEST_COMPLETED"]["link"] == "/backtests/bt-1"
    assert "₹1,500.00" in by_type["BACKTEST_COMPLETED"]["message"]
    assert by_type["STRATEGY_DEPLOYED"]["link"] == "/deployments/dep-1"
    assert (await bus.call(user, N.UNREAD_COUNT))["count"] == 3
    await eventually(lambda: len([s for s, _ in live if s.endswith(".created")]) == 3,
                     what="live created events")
    assert {d["type"] for _, d in live} == {"ORDER_PLACED", "BACKTEST_COMPLETED", "STRATEGY_DEPLOYED"}
    # our own notification.* events ride the same stream and are never turned into notifications
    assert (await inbox(bus, user))["total"] == 3


async def _total(bus, user, n):
    page = await inbox(bus, user)
    return page if page["total"] == n else None


async def test_read_filters_pagination_and_delete(app, bus):
    user = uid()
    for i in range(5):
        await bus.publish(user, "order", "placed", order(OrderPlaced, user, f"o-{i}"))
    await eventually(lambda: _total(bus, user, 5), what="five notifications")
    first = (await inbox(bus, user, page=1, pageSize=2))
    second = (await inbox(bus, user, page=2, pageSize=2))
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and first["total"] == 5
    assert not {n["id"] for n in first["items"]} & {n["id"] for n in second["items"]}
    target = first["items"][0]["id"]
    read = await bus.call(user, N.MARK_READ, {"id": target})
    assert read["isRead"] is True
    assert (await bus.call(user, N.UNREAD_COUNT))["count"] == 4
    assert (await inbox(bus, user, isRead=True))["total"] == 1
    assert (await inbox(bus, user, type="ORDER_FILLED"))["total"] == 0
    await bus.call(user, N.DELETE, {"id": target})
    assert (await inbox(bus, user))["total"] == 4
    assert (await bus.call(user, N.MARK_ALL_READ))["updated"] == 4
    assert (await bus.call(user, N.UNREAD_COUNT))["count"] == 0


async def test_one_user_never_sees_or_touches_anothers_notifications(app, bus):
    alice, bob = uid(), uid()
    await bus.publish(alice, "order", "placed", order(OrderPlaced, alice, "o-a"))
    page = await eventually(lambda: _total(bus, alice, 1), what="alice's notification")
    nid = page["items"][0]["id"]
    assert (await inbox(bus, bob))["total"] == 0
    assert (await bus.call(bob, N.UNREAD_COUNT))["count"] == 0
    assert (await bus.error(bob, N.MARK_READ, {"id": nid})).code == 404
    assert (await bus.error(bob, N.DELETE, {"id": nid})).code == 404
    assert (await bus.call(bob, N.MARK_ALL_READ))["updated"] == 0
    assert (await bus.call(alice, N.UNREAD_COUNT))["count"] == 1
    assert (await bus.error(None, N.LIST)).code == 401


async def test_a_storm_of_one_failure_is_one_notification_with_a_count(app, bus, nc):
    user = uid()
    updates: list[dict] = []

    async def on(msg):
        updates.append(orjson.loads(msg.data))

    await nc.subscribe(f"evt.{user}.notification.updated", cb=on)
    for i in range(20):
        await bus.publish(user, "order", "failed", order(OrderFailed, user, f"f-{i}", "timeout"))
    await bus.publish(user, "order", "failed", order(OrderFailed, user, "g-1", "other reason"))

    async def grouped():
        page = await inbox(bus, user)
        counts = sorted(n["count"] for n in page["items"])
        return page if counts == [1, 20] else None

    page = await eventually(grouped, what="grouped failures")
    storm = next(n for n in page["items"] if n["count"] == 20)
    assert storm["type"] == "ORDER_FAILED" and not storm["isRead"]
    await eventually(lambda: any(u["count"] == 20 for u in updates), what="update event")


async def test_a_redelivered_event_makes_no_second_notification(app, bus):
    user = uid()
    event = base(orderId="o-x", intentId="i", userId=user, accountId="a", securityId="1",
                 exchangeSegment="NSE_EQ", transactionType="SELL", quantity=1, status="TRADED",
                 averagePrice=10000)
    # the same event twice without a stream message id: only the inbox can catch it
    await bus.publish(user, "order", "filled", event)
    await bus.publish(user, "order", "filled", event)
    await bus.publish(user, "backtest", "failed", base(backtestId="b", userId=user,
                                                       strategyId="s", strategyVersionId="v",
                                                       reason="no bars"))
    await eventually(lambda: _total(bus, user, 2), what="two notifications")
    page = await inbox(bus, user)
    assert sorted(n["type"] for n in page["items"]) == ["BACKTEST_FAILED", "ORDER_FILLED"]
    assert all(n["count"] == 1 for n in page["items"])


async def test_unknown_and_unreadable_events_are_skipped(app, bus):
    user = uid()
    await bus.publish(user, "weather", "changed", base(userId=user))
    await bus.publish(user, "order", "cancelled", base(orderId="c"))
    await bus.js.publish(f"evt.{user}.order.placed", b"not json")
    await bus.publish(user, "order", "placed", base(orderId="ok", brandNewField={"x": 1}))
    page = await eventually(lambda: _total(bus, user, 1), what="the readable event")
    assert page["items"][0]["link"] == "/orders/ok"

"""The Dhan adapter against the simulator over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from brokerage.adapters.base import (
    BrokerAuthFailed,
    BrokerOrder,
    BrokerRejected,
    BrokerRetryable,
    BrokerUnknownOutcome,
    OrderChange,
    OrderRequest,
)
from brokerage.adapters.dhan.client import DhanClient
from brokerage.adapters.dhan.consent import ConsentClient
from brokerage.adapters.dhan.execution import DhanAdapter
from brokerage.adapters.dhan.orderstream import OrderStream
from brokerage.adapters.resilience import CircuitBreaker, Pacer
from brokerage.testing import until

pytestmark = pytest.mark.integration


def adapter_for(sim, client_id: str, token: str, **kw) -> DhanAdapter:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_cap_s", 0.05)
    return DhanAdapter(DhanClient(sim.api_base, client_id, token, **kw))


def buy(correlation_id: str, **kw) -> OrderRequest:
    values = {"correlation_id": correlation_id, "security_id": "2885",
              "exchange_segment": "NSE_EQ", "transaction_type": "BUY", "quantity": 1,
              "order_type": "MARKET", "product_type": "INTRADAY"}
    values.update(kw)
    return OrderRequest(**values)


async def faults(sim, body: dict) -> None:
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        (await admin.post("/sim/faults", json=body)).raise_for_status()


async def test_orders_portfolio_and_the_order_socket(sim):
    client_id, token = sim.create_client(funds=1_000_000)
    dhan = adapter_for(sim, client_id, token)
    updates: list[BrokerOrder] = []

    async def on_update(order: BrokerOrder) -> None:
        updates.append(order)

    async def on_auth_failed() -> None:
        raise AssertionError("token refused")

    stream = OrderStream(sim.order_url, client_id, token, on_update=on_update,
                         on_auth_failed=on_auth_failed)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(stream.connected.wait(), 5)
        await until(lambda: sim.sim.order_hub.count(client_id) == 1)
        profile = await dhan.profile()
        assert profile.client_id == client_id and profile.token_validity
        assert (await dhan.funds()).available == Decimal(1000000)
        ack = await dhan.place(buy("adapter-1"))
        assert ack.status == "TRANSIT" and ack.broker_order_id
        found = await dhan.find_by_correlation("adapter-1")
        assert found.broker_order_id == ack.broker_order_id
        assert await dhan.find_by_correlation("never-sent") is None
        await until(lambda: any(u.status == "TRADED" for u in updates))
        traded = next(u for u in updates if u.status == "TRADED")
        assert traded.correlation_id == "adapter-1" and traded.filled_quantity == 1
        assert traded.exchange_segment == "NSE_EQ" and traded.average_price > 0
        fills = await dhan.trades(ack.broker_order_id)
        assert [f.quantity for f in fills] == [1] and fills[0].price == traded.average_price
        [position] = await dhan.positions()
        assert position.net_quantity == 1 and position.security_id == "2885"
        assert await dhan.holdings() == []  # live Dhan's 500 DH-1111 means "none"
        resting = await dhan.place(buy("adapter-2", order_type="LIMIT", price=Decimal(1380)))
        await until(lambda: any(u.broker_order_id == resting.broker_order_id
                                and u.status == "PENDING" for u in updates))
        await dhan.modify(resting.broker_order_id, OrderChange(price=Decimal(1381),
                                                               order_type="LIMIT"),
                          BrokerOrder(resting.broker_order_id, "PENDING", quantity=1))
        book = {o.broker_order_id: o for o in await dhan.orders()}
        assert book[resting.broker_order_id].status in ("TRANSIT", "PENDING")
        await until(lambda: sim.sim.exchange.accounts[client_id].orders[
            resting.broker_order_id].status == "PENDING")
        cancelled = await dhan.cancel(resting.broker_order_id)
        assert cancelled.status == "CANCELLED"
        await until(lambda: any(u.broker_order_id == resting.broker_order_id
                                and u.status == "CANCELLED" for u in updates))
        with pytest.raises(BrokerRejected):
            await dhan.cancel(resting.broker_order_id)
    finally:
        task.cancel()
        await dhan.close()


async def test_error_groups_dropped_responses_and_expired_tokens(sim):
    client_id, token = sim.create_client()
    dhan = adapter_for(sim, client_id, token, attempts=3)
    await faults(sim, {"dropAfterAccept": 1})
    with pytest.raises(BrokerUnknownOutcome) as dropped:
        await dhan.place(buy("drop-1"))
    assert not dropped.value.answered
    assert (await dhan.find_by_correlation("drop-1")) is not None  # it was accepted
    await faults(sim, {"fail5xx": 1})
    with pytest.raises(BrokerUnknownOutcome) as five:
        await dhan.place(buy("five-1"))
    assert five.value.answered and await dhan.find_by_correlation("five-1") is None
    await faults(sim, {"fail429": 1})
    with pytest.raises(BrokerRetryable):
        await dhan.place(buy("rate-1"))
    await faults(sim, {"fail5xx": 2})
    assert (await dhan.funds()).available > 0  # reads are retried with backoff
    with pytest.raises(BrokerRejected) as bad:
        await dhan.place(buy("bad-1", security_id="", quantity=1))
    assert bad.value.code == "DH-905"
    await faults(sim, {"expireToken": client_id})
    with pytest.raises(BrokerAuthFailed):
        await dhan.profile()
    await dhan.close()


async def test_the_circuit_opens_after_repeated_failures_and_recovers(sim):
    client_id, token = sim.create_client()
    opened: list[bool] = []
    breaker = CircuitBreaker(failures=2, cooldown_s=0.3)
    dhan = DhanAdapter(DhanClient(sim.api_base, client_id, token, breaker=breaker, attempts=1,
                                  on_circuit_open=lambda: opened.append(True)))
    await faults(sim, {"fail5xx": 2})
    for _ in range(2):
        with pytest.raises(BrokerRetryable):
            await dhan.funds()
    assert breaker.state == "open" and opened == [True]
    with pytest.raises(BrokerRetryable) as fast:
        await dhan.funds()
    assert fast.value.code == "CIRCUIT_OPEN"
    await until(lambda: breaker.state == "half_open", timeout=3)
    assert (await dhan.funds()).available > 0
    assert breaker.state == "closed"
    await dhan.close()


async def test_pacing_keeps_order_calls_under_the_per_second_limit(sim):
    client_id, token = sim.create_client()
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        await admin.put("/sim/config", json={"rateLimits": True})
    dhan = DhanAdapter(DhanClient(sim.api_base, client_id, token,
                                  pacer=Pacer({"order": [(5, 1.0)]})))
    loop = asyncio.get_running_loop()
    started = loop.time()
    acks = await asyncio.gather(*(dhan.place(buy(f"pace-{i}", order_type="LIMIT",
                                                 price=Decimal(1380))) for i in range(8)))
    assert all(a.broker_order_id for a in acks)  # none met Dhan's 429
    assert loop.time() - started >= 0.9
    await dhan.close()


async def test_consent_flow_yields_a_working_token(sim):
    creds = sim.sim.create_client(500_000)
    consent = ConsentClient(sim.auth_url)
    consent_id = await consent.generate(creds["dhanClientId"], creds["apiKey"], creds["apiSecret"])
    async with httpx.AsyncClient() as browser:
        token_id = (await browser.get(consent.login_url(consent_id))).json()["tokenId"]
    got = await consent.consume(token_id, creds["apiKey"], creds["apiSecret"])
    assert got.client_id == creds["dhanClientId"] and got.expires_at is not None
    dhan = adapter_for(sim, got.client_id, got.access_token)
    assert (await dhan.funds()).available == Decimal(500000)
    await dhan.close()
    with pytest.raises(BrokerAuthFailed):
        await consent.generate(creds["dhanClientId"], creds["apiKey"], "wrong-secret")

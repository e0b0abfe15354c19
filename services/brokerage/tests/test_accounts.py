"""Accounts over NATS: linking, consent, credentials at rest, isolation, reauth, rotation."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from brokerage.rotation import rotate_keys
from brokerage.testing import call, make_settings, until
from contracts import brokerage as b
from contracts import orders as o
from contracts.errors import ErrorCode
from svckit.errors import RemoteError

pytestmark = pytest.mark.integration


async def link(nc, sim, user: str = "u1", funds: float = 1_000_000) -> tuple[str, str, dict]:
    client_id, token = sim.create_client(funds=funds)
    account = await call(nc, b.LINK_ACCOUNT, {"broker": "dhan", "dhanClientId": client_id,
                                              "accessToken": token}, user)
    return client_id, token, account


async def expect_error(code: ErrorCode, coro) -> None:
    with pytest.raises(RemoteError) as info:
        await coro
    assert info.value.api_error.error is code, info.value.api_error


async def test_link_dhan_and_paper_then_list_test_status_unlink(app, nc, sim, events):
    client_id, _, dhan = await link(nc, sim)
    paper = await call(nc, b.LINK_ACCOUNT, {"broker": "paper", "startingCapital": "250000"}, "u1")
    listed = await call(nc, b.LIST_ACCOUNTS, {}, "u1")
    assert [a["id"] for a in listed["items"]] == [dhan["id"], paper["id"]]
    assert dhan["dhanClientId"] == client_id and paper["startingCapital"] == "250000.00"
    test = await call(nc, b.TEST_ACCOUNT, {"accountId": dhan["id"]}, "u1")
    assert test["ok"] and test["availableBalance"] == "1000000.00"
    paper_test = await call(nc, b.TEST_ACCOUNT, {"accountId": paper["id"]}, "u1")
    assert paper_test["ok"] and paper_test["availableBalance"] == "250000.00"
    health = await call(nc, b.ACCOUNT_STATUS, {"accountId": dhan["id"]}, "u1")
    assert health["status"] == "active" and health["circuit"] == "closed"
    renamed = await call(nc, b.UPDATE_ACCOUNT, {"accountId": dhan["id"], "label": "Main"}, "u1")
    assert renamed["label"] == "Main"
    assert (await call(nc, b.UNLINK_ACCOUNT, {"accountId": paper["id"]}, "u1"))["ok"]
    assert [a["id"] for a in (await call(nc, b.LIST_ACCOUNTS, {}, "u1"))["items"]] == [dhan["id"]]
    await until(lambda: len(events.of(".account.linked")) == 2 and events.of(".account.unlinked"))


async def test_a_refused_token_is_not_linked(app, nc, sim):
    client_id, _ = sim.create_client()
    await expect_error(ErrorCode.VALIDATION_ERROR, call(nc, b.LINK_ACCOUNT, {
        "broker": "dhan", "dhanClientId": client_id, "accessToken": "eyJ.not.valid"}, "u1"))
    assert (await call(nc, b.LIST_ACCOUNTS, {}, "u1"))["items"] == []


async def test_linking_and_trading_need_a_verified_email(app, nc, sim):
    client_id, token = sim.create_client()
    await expect_error(ErrorCode.FORBIDDEN, call(nc, b.LINK_ACCOUNT, {
        "broker": "dhan", "dhanClientId": client_id, "accessToken": token}, "u1", verified=False))
    paper = await call(nc, b.LINK_ACCOUNT, {"broker": "paper"}, "u1")
    await expect_error(ErrorCode.FORBIDDEN, call(nc, o.PLACE_ORDER, {
        "accountId": paper["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
        "transactionType": "BUY", "quantity": 1, "orderType": "MARKET",
        "productType": "INTRADAY"}, "u1", verified=False))
    await expect_error(ErrorCode.UNAUTHORIZED, call(nc, b.LIST_ACCOUNTS, {}, ""))


async def test_the_database_and_logs_never_hold_a_plaintext_credential(app, nc, sim, pg_dsn,
                                                                       capsys):
    _, token, account = await link(nc, sim)
    creds = sim.sim.create_client()
    started = await call(nc, b.START_CONSENT, {"dhanClientId": creds["dhanClientId"],
                                               "apiKey": creds["apiKey"],
                                               "apiSecret": creds["apiSecret"]}, "u1")
    secrets = [token.encode(), creds["apiKey"].encode(), creds["apiSecret"].encode(),
               token.split(".")[2].encode()]
    admin = await asyncpg.connect(pg_dsn)
    try:
        tables = [r["tablename"] for r in await admin.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'brokerage'")]
        for table in tables:
            for row in await admin.fetch(f'SELECT t::text AS v FROM brokerage."{table}" t'):
                assert not any(s in row["v"].encode() for s in secrets), table
        await admin.execute("CHECKPOINT")
        for table in tables:
            path = await admin.fetchval("SELECT pg_relation_filepath($1)", f"brokerage.{table}")
            raw = await admin.fetchval("SELECT pg_read_binary_file($1)", path)
            assert not any(s in raw for s in secrets), table
        kids = {r["credential_kid"] for r in await admin.fetch(
            "SELECT credential_kid FROM brokerage.accounts")}
        assert kids == {"k1"}
    finally:
        await admin.close()
    replies = [await call(nc, b.LIST_ACCOUNTS, {}, "u1"),
               await call(nc, b.GET_ACCOUNT, {"accountId": account["id"]}, "u1"), started]
    assert not any(s.decode() in str(r) for r in replies for s in secrets)
    out = capsys.readouterr()
    assert not any(s.decode() in out.out + out.err for s in secrets)


async def test_one_user_cannot_see_or_touch_anothers_accounts_orders_positions(app, nc, sim):
    _, _, account = await link(nc, sim, "alice")
    ref = {"accountId": account["id"]}
    order = await call(nc, o.PLACE_ORDER, {
        **ref, "securityId": "2885", "exchangeSegment": "NSE_EQ", "transactionType": "BUY",
        "quantity": 1, "orderType": "LIMIT", "price": "1380", "productType": "INTRADAY"}, "alice")
    for subject, body in ((b.GET_ACCOUNT, ref), (b.TEST_ACCOUNT, ref), (b.ACCOUNT_STATUS, ref),
                          (b.UNLINK_ACCOUNT, ref), (b.UPDATE_ACCOUNT, {**ref, "label": "x"}),
                          (b.PORTFOLIO_POSITIONS, ref), (b.PORTFOLIO_SUMMARY, ref),
                          (b.PORTFOLIO_HOLDINGS, ref), (b.KILL_SWITCH, ref),
                          (o.GET_ORDER, {"orderId": order["id"]}),
                          (o.CANCEL_ORDER, {"orderId": order["id"]}),
                          (o.MODIFY_ORDER, {"orderId": order["id"], "price": "1381"}),
                          (o.PLACE_ORDER, {**ref, "securityId": "2885", "exchangeSegment":
                                           "NSE_EQ", "transactionType": "BUY", "quantity": 1,
                                           "orderType": "MARKET", "productType": "INTRADAY"})):
        await expect_error(ErrorCode.NOT_FOUND, call(nc, subject, body, "mallory"))
    assert (await call(nc, o.LIST_ORDERS, {"accountId": account["id"]}, "mallory"))["total"] == 0
    assert (await call(nc, b.PORTFOLIO_POSITIONS, {}, "mallory"))["items"] == []
    assert (await call(nc, o.GET_ORDER, {"orderId": order["id"]}, "alice"))["status"] in (
        "placed", "accepted")


async def test_manual_limit_order_is_placed_modified_and_cancelled(app, nc, sim, events):
    client_id, _, account = await link(nc, sim)
    order = await call(nc, o.PLACE_ORDER, {
        "accountId": account["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
        "transactionType": "BUY", "quantity": 2, "orderType": "LIMIT", "price": "1380.5",
        "productType": "INTRADAY", "clientOrderId": "my-1"}, "u1")
    again = await call(nc, o.PLACE_ORDER, {
        "accountId": account["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
        "transactionType": "BUY", "quantity": 2, "orderType": "LIMIT", "price": "1380.5",
        "productType": "INTRADAY", "clientOrderId": "my-1"}, "u1")
    assert again["id"] == order["id"] and len(sim.sim.exchange.accounts[client_id].orders) == 1
    ref = {"orderId": order["id"]}
    await until(lambda: events.of(".order.accepted"))
    changed = await call(nc, o.MODIFY_ORDER, {**ref, "price": "1381"}, "u1")
    assert changed["price"].startswith("1381")
    await until(lambda: sim.sim.exchange.accounts[client_id].orders[
        order["brokerOrderId"]].status == "PENDING")
    done = await call(nc, o.CANCEL_ORDER, ref, "u1")
    assert done["status"] == "cancelled"
    assert sim.sim.exchange.accounts[client_id].orders[done["brokerOrderId"]].status == "CANCELLED"
    await until(lambda: events.of(".order.cancelled"))
    page = await call(nc, o.LIST_ORDERS, {"status": "cancelled"}, "u1")
    assert [x["id"] for x in page["items"]] == [order["id"]]


async def test_an_expired_token_moves_the_account_to_reauth_once(app, nc, sim, events):
    client_id, _, account = await link(nc, sim)
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        (await admin.post("/sim/faults", json={"expireToken": client_id})).raise_for_status()
    body = {"accountId": account["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
            "transactionType": "BUY", "quantity": 1, "orderType": "MARKET",
            "productType": "INTRADAY"}
    # Whoever meets the refusal first (the order socket or this order) flips the account.
    try:
        first = await call(nc, o.PLACE_ORDER, body, "u1")
        assert first["status"] in ("failed", "rejected")
    except RemoteError as exc:
        assert exc.api_error.error is ErrorCode.CONFLICT
    await expect_error(ErrorCode.CONFLICT, call(nc, o.PLACE_ORDER, body, "u1"))
    test = await call(nc, b.TEST_ACCOUNT, {"accountId": account["id"]}, "u1")
    assert not test["ok"] and test["status"] == "reauth_required"
    health = await call(nc, b.ACCOUNT_STATUS, {"accountId": account["id"]}, "u1")
    assert health["status"] == "reauth_required"
    await until(lambda: events.of(".account.reauth_required"))
    await until(lambda: app.services.orders.pool.fetchval(
        "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))
    assert len(events.of(".account.reauth_required")) == 1
    async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
        state = (await admin.get(f"/sim/clients/{client_id}")).json()
    assert state["orderSockets"] == 0  # the socket gave up instead of retrying a dead token
    fresh = sim.sim.tokens.mint(client_id)
    back = await call(nc, b.UPDATE_ACCOUNT, {"accountId": account["id"], "accessToken": fresh},
                      "u1")
    assert back["status"] == "active"
    assert (await call(nc, o.PLACE_ORDER, body, "u1"))["status"] in ("placed", "accepted",
                                                                     "filled")


async def test_api_key_consent_flow_links_an_account(app, nc, sim, events):
    creds = sim.sim.create_client(1_000_000, None, "", "CONSENT USER")
    started = await call(nc, b.START_CONSENT, {"dhanClientId": creds["dhanClientId"],
                                               "apiKey": creds["apiKey"],
                                               "apiSecret": creds["apiSecret"]}, "u1")
    pending = await call(nc, b.GET_ACCOUNT, {"accountId": started["accountId"]}, "u1")
    assert pending["status"] == "pending_consent" and pending["hasApiKey"]
    async with httpx.AsyncClient() as browser:  # the user approving in their browser
        token_id = (await browser.get(started["loginUrl"])).json()["tokenId"]
    linked = await call(nc, b.COMPLETE_CONSENT, {"accountId": started["accountId"],
                                                 "tokenId": token_id}, "u1")
    assert linked["status"] == "active"
    assert (await call(nc, b.TEST_ACCOUNT, {"accountId": linked["id"]}, "u1"))["ok"]
    await until(lambda: events.of(".account.linked"))


async def test_rotate_keys_rewraps_credentials_under_the_new_key(app, nc, sim, settings, pg_dsn):
    _, _, account = await link(nc, sim)
    from brokerage.crypto import KeyRing
    rotated = settings.model_copy(update={"credential_keys": type(settings.credential_keys)(
        KeyRing.generate("k2") + "," + settings.credential_keys.get_secret_value())})
    assert await rotate_keys(rotated) == 1
    assert await rotate_keys(rotated) == 0
    admin = await asyncpg.connect(pg_dsn)
    try:
        assert await admin.fetchval("SELECT credential_kid FROM brokerage.accounts") == "k2"
    finally:
        await admin.close()
    app.services.brokers.keyring = KeyRing.parse(rotated.credential_keys.get_secret_value())
    await app.services.brokers.forget(account["id"])
    assert (await call(nc, b.TEST_ACCOUNT, {"accountId": account["id"]}, "u1"))["ok"]


async def test_kill_switch_cancels_open_orders_and_blocks_new_ones(app, nc, sim, events):
    _, _, account = await link(nc, sim)
    body = {"accountId": account["id"], "securityId": "2885", "exchangeSegment": "NSE_EQ",
            "transactionType": "BUY", "quantity": 1, "orderType": "LIMIT", "price": "1380",
            "productType": "INTRADAY"}
    await call(nc, o.PLACE_ORDER, body, "u1")
    await until(lambda: events.of(".order.accepted"))
    state = await call(nc, b.KILL_SWITCH, {"accountId": account["id"], "activate": True}, "u1")
    assert state == {"accounts": {account["id"]: True}, "cancelledOrders": 1}
    await expect_error(ErrorCode.CONFLICT, call(nc, o.PLACE_ORDER, body, "u1"))
    await call(nc, b.KILL_SWITCH, {"activate": False}, "u1")
    assert (await call(nc, o.PLACE_ORDER, body, "u1"))["status"] in ("placed", "accepted")


def test_settings_refuse_to_start_without_credential_keys(sim):
    from brokerage.settings import BrokerageSettings
    with pytest.raises(ValueError):
        BrokerageSettings(environment="test")
    assert make_settings(sim, "nats://x", "postgresql://x", "redis://x", "p").credential_keys


async def test_orders_and_accounts_are_counted_for_the_alerts(app, nc, sim, events):
    from brokerage import metrics
    from brokerage.testing import order_intent, publish_intent
    from prometheus_client import REGISTRY

    def sample(name, status):
        return REGISTRY.get_sample_value(name, {"status": status}) or 0

    filled_before = sample("brokerage_orders_total", "filled")
    client_id, token = sim.create_client(funds=1_000_000)
    account = await call(nc, b.LINK_ACCOUNT, {"broker": "dhan", "dhanClientId": client_id,
                                              "accessToken": token}, "u-metrics")
    await metrics.count_accounts(app.pool)
    assert sample("brokerage_accounts", "active") >= 1
    assert sample("brokerage_accounts", "reauth_required") == 0  # every status is exported
    await publish_intent(app.js, order_intent(account["id"], "u-metrics", app.clock.now()))
    await until(lambda: sample("brokerage_orders_total", "filled") == filled_before + 1,
                timeout=20)

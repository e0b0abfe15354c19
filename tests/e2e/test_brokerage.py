"""Linked accounts, manual orders and the portfolio through the real gateway, brokerage and
Dhan simulator processes (issue 3, "Done when")."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

RELIANCE = {"securityId": "2885", "exchangeSegment": "NSE_EQ"}


async def _link_dhan(api, token: str, label: str = "sim") -> tuple[dict, str, str]:
    """Open a simulated Dhan account and link it; return (account, client id, access token)."""
    client_id, dhan_token = await api.sim_client()
    r = await api.http.post("/api/brokerages/link", headers=api.bearer(token), json={
        "broker": "dhan", "label": label, "dhanClientId": client_id, "accessToken": dhan_token})
    assert r.status_code == 201, r.text
    return r.json(), client_id, dhan_token


async def _order(api, token: str, order_id: str, status: str) -> dict:
    """Wait until an order reaches `status` (as the user sees it) and return it."""
    return await api.until(lambda: api.http.get(f"/api/orders/{order_id}",
                                                headers=api.bearer(token)),
                           lambda o: o["status"] == status, what=f"order {status}")


async def test_link_test_trade_and_see_the_portfolio(api):
    _, token, _ = await api.verified_signup("trader")
    auth = api.bearer(token)
    account, client_id, dhan_token = await _link_dhan(api, token)
    assert account["broker"] == "dhan" and account["dhanClientId"] == client_id
    assert account["status"] == "active"
    replies = []  # every reply of this test, to prove the typed token never comes back

    r = await api.http.post(f"/api/brokerages/{account['id']}/test", headers=auth)
    assert r.status_code == 200, r.text
    replies.append(r.text)
    assert r.json()["ok"] is True and Decimal(r.json()["availableBalance"]) > 0

    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "paper", "label": "practice", "startingCapital": "250000"})
    assert r.status_code == 201, r.text
    paper = r.json()
    assert paper["broker"] == "paper" and Decimal(paper["startingCapital"]) == 250000
    r = await api.http.get("/api/brokerages", headers=auth)
    replies.append(r.text)
    assert {a["id"] for a in r.json()["items"]} == {account["id"], paper["id"]}

    before = (await api.http.get("/api/portfolio/summary", headers=auth,
                                 params={"accountId": account["id"]})).json()
    # a limit buy 10 % under the market rests at the exchange, then is cancelled
    far = (await api.sim_ltp(client_id, dhan_token) * Decimal("0.9")).quantize(Decimal(1))
    r = await api.http.post("/api/orders", headers=auth, json={
        **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
        "orderType": "LIMIT", "productType": "INTRADAY", "price": str(far)})
    assert r.status_code == 201, r.text
    limit = r.json()
    assert Decimal(limit["price"]) == far and limit["source"] == "manual"
    await _order(api, token, limit["id"], "accepted")
    r = await api.http.put(f"/api/orders/{limit['id']}/cancel", headers=auth)
    assert r.status_code == 200, r.text
    cancelled = await _order(api, token, limit["id"], "cancelled")
    assert cancelled["filledQuantity"] == 0

    # a market buy fills; the position and the funds follow
    r = await api.http.post("/api/orders", headers=auth, json={
        **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 2,
        "orderType": "MARKET", "productType": "INTRADAY"})
    assert r.status_code == 201, r.text
    market = await _order(api, token, r.json()["id"], "filled")
    assert market["filledQuantity"] == 2 and Decimal(market["averagePrice"]) > 0
    positions = await api.until(
        lambda: api.http.get("/api/portfolio/positions", headers=auth,
                             params={"accountId": account["id"]}),
        lambda b: any(p["securityId"] == "2885" and p["netQuantity"] == 2 for p in b["items"]),
        what="the RELIANCE position")
    assert all(p["accountId"] == account["id"] for p in positions["items"])
    after = await api.until(
        lambda: api.http.get("/api/portfolio/summary", headers=auth,
                             params={"accountId": account["id"]}),
        lambda b: Decimal(b["availableFunds"]) < Decimal(before["availableFunds"]),
        what="funds to drop after the fill")
    assert after["positionsCount"] >= 1

    r = await api.http.get("/api/orders", headers=auth)
    assert r.status_code == 200, r.text
    replies.append(r.text)
    mine = {o["id"]: o["status"] for o in r.json()["items"]}
    assert mine == {limit["id"]: "cancelled", market["id"]: "filled"}

    for path in ("/api/brokerages", f"/api/brokerages/{account['id']}",
                 f"/api/brokerages/{account['id']}/status"):
        r = await api.http.get(path, headers=auth)
        assert r.status_code == 200, r.text
        replies.append(r.text)
    assert not [text for text in replies if dhan_token in text]


async def test_an_unverified_user_cannot_link(api):
    _, token, _ = await api.signup("unverified")
    client_id, dhan_token = await api.sim_client()
    r = await api.http.post("/api/brokerages/link", headers=api.bearer(token), json={
        "broker": "dhan", "dhanClientId": client_id, "accessToken": dhan_token})
    body = api.error(r, 403, "FORBIDDEN")
    assert dhan_token not in r.text and "verify" in body["message"].lower()
    r = await api.http.get("/api/brokerages", headers=api.bearer(token))
    assert r.status_code == 200 and r.json()["items"] == []


async def test_a_bad_link_or_order_is_refused_in_the_error_shape(api):
    _, token, _ = await api.verified_signup("sloppy")
    auth = api.bearer(token)
    r = await api.http.post("/api/brokerages/link", headers=auth, json={"broker": "dhan"})
    api.error(r, 400, "VALIDATION_ERROR")
    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "dhan", "dhanClientId": "1100000099", "accessToken": "not-a-dhan-token"})
    assert r.status_code >= 400 and "not-a-dhan-token" not in r.text
    body = r.json()
    assert body["code"] == r.status_code and body["error"] and body["message"], body
    account, _, _ = await _link_dhan(api, token)
    r = await api.http.post("/api/orders", headers=auth, json={
        **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
        "orderType": "LIMIT", "productType": "INTRADAY"})
    body = api.error(r, 400, "VALIDATION_ERROR")
    assert "price" in r.text.lower()


async def test_another_user_sees_nothing_of_mine(api):
    _, token, _ = await api.verified_signup("owner")
    account, client_id, dhan_token = await _link_dhan(api, token)
    far = (await api.sim_ltp(client_id, dhan_token) * Decimal("0.9")).quantize(Decimal(1))
    r = await api.http.post("/api/orders", headers=api.bearer(token), json={
        **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
        "orderType": "LIMIT", "productType": "INTRADAY", "price": str(far)})
    assert r.status_code == 201, r.text
    order = r.json()
    async with api.client() as other_http:
        _, other, _ = await api.verified_signup("intruder", http=other_http)
        them = api.bearer(other)
        for method, path in (("GET", f"/api/brokerages/{account['id']}"),
                             ("POST", f"/api/brokerages/{account['id']}/test"),
                             ("GET", f"/api/brokerages/{account['id']}/status"),
                             ("DELETE", f"/api/brokerages/{account['id']}"),
                             ("GET", f"/api/orders/{order['id']}"),
                             ("PUT", f"/api/orders/{order['id']}/cancel")):
            r = await other_http.request(method, path, headers=them)
            api.error(r, 404, "NOT_FOUND")
        r = await other_http.post("/api/orders", headers=them, json={
            **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
            "orderType": "MARKET", "productType": "INTRADAY"})
        api.error(r, 404, "NOT_FOUND")
        r = await other_http.get("/api/orders", headers=them)
        assert r.status_code == 200 and r.json()["items"] == []
        r = await other_http.get("/api/brokerages", headers=them)
        assert r.status_code == 200 and r.json()["items"] == []
    # the owner's order is untouched by the other user's attempts
    r = await api.http.put(f"/api/orders/{order['id']}/cancel", headers=api.bearer(token))
    assert r.status_code == 200, r.text
    await _order(api, token, order["id"], "cancelled")


async def test_my_order_events_arrive_over_ws(api):
    _, token, user = await api.verified_signup("watcher")
    account, _, _ = await _link_dhan(api, token)
    async with api.socket(token) as ws:
        r = await api.http.post("/api/orders", headers=api.bearer(token), json={
            **RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
            "orderType": "MARKET", "productType": "INTRADAY"})
        assert r.status_code == 201, r.text
        seen = await api.pushed(ws, lambda m: m["subject"].endswith(".order.filled"))
    orders = [m["subject"] for m in seen if ".order." in m["subject"]]
    assert all(s.startswith(f"evt.{user['id']}.order.") for s in orders)
    assert f"evt.{user['id']}.order.placed" in orders
    assert seen[-1]["data"]["orderId"] == r.json()["id"]


async def test_a_paper_account_trades_on_live_ticks(api, e2e):
    if not e2e.runs("marketdata"):
        pytest.skip("paper fills need marketdata's ticks")
    _, token, _ = await api.verified_signup("paper")
    auth = api.bearer(token)
    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "paper", "startingCapital": "250000"})
    assert r.status_code == 201, r.text
    paper = r.json()
    scope = {"accountId": paper["id"]}
    r = await api.http.get("/api/portfolio/summary", headers=auth, params=scope)
    assert r.status_code == 200 and Decimal(r.json()["availableFunds"]) == 250000, r.text
    r = await api.http.post("/api/orders", headers=auth, json={
        **RELIANCE, "accountId": paper["id"], "transactionType": "BUY", "quantity": 1,
        "orderType": "LIMIT", "productType": "CNC", "price": "100"})
    assert r.status_code == 201, r.text
    resting = await _order(api, token, r.json()["id"], "accepted")
    r = await api.http.put(f"/api/orders/{resting['id']}/cancel", headers=auth)
    assert r.status_code == 200, r.text
    await _order(api, token, resting["id"], "cancelled")

    r = await api.http.post("/api/orders", headers=auth, json={
        **RELIANCE, "accountId": paper["id"], "transactionType": "BUY", "quantity": 3,
        "orderType": "MARKET", "productType": "CNC"})
    assert r.status_code == 201, r.text
    filled = await _order(api, token, r.json()["id"], "filled")
    cost = Decimal(filled["averagePrice"]) * 3
    positions = await api.until(lambda: api.http.get("/api/portfolio/positions", headers=auth,
                                                     params=scope),
                                lambda b: any(p["netQuantity"] == 3 for p in b["items"]),
                                what="the paper position")
    assert positions["items"][0]["securityId"] == "2885"
    summary = (await api.http.get("/api/portfolio/summary", headers=auth, params=scope)).json()
    # delivery blocks the full value, and charges come on top
    assert Decimal(summary["availableFunds"]) <= 250000 - cost, (summary, cost)
    assert Decimal(summary["availableFunds"]) > 250000 - cost - 100, (summary, cost)


async def test_the_account_kill_switch_blocks_orders_until_lifted(api):
    _, token, _ = await api.verified_signup("halted")
    auth = api.bearer(token)
    account, _, _ = await _link_dhan(api, token)
    order = {**RELIANCE, "accountId": account["id"], "transactionType": "BUY", "quantity": 1,
             "orderType": "MARKET", "productType": "INTRADAY"}
    r = await api.http.post("/api/brokerages/killswitch", headers=auth,
                            json={"accountId": account["id"], "activate": True})
    assert r.status_code == 200 and r.json()["accounts"] == {account["id"]: True}, r.text
    r = await api.http.get(f"/api/brokerages/{account['id']}", headers=auth)
    assert r.json()["killSwitch"] is True
    r = await api.http.post("/api/orders", headers=auth, json=order)
    if r.status_code == 201:  # refused by the broker side rather than at the door
        await _order(api, token, r.json()["id"], "rejected")
    else:
        body = r.json()
        assert 400 <= r.status_code < 500 and body["code"] == r.status_code and body["message"]
    r = await api.http.post("/api/brokerages/killswitch", headers=auth,
                            json={"accountId": account["id"], "activate": False})
    assert r.status_code == 200 and r.json()["accounts"] == {account["id"]: False}, r.text
    r = await api.http.post("/api/orders", headers=auth, json=order)
    assert r.status_code == 201, r.text
    await _order(api, token, r.json()["id"], "filled")

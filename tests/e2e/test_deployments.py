"""Live deployments through the real gateway, execution, backtest, marketdata, brokerage and
simulator processes: deploy on paper and on a simulated Dhan account, see signals, orders and
positions, pause, resume and the kill switch (issue 6, "Done when")."""

from __future__ import annotations

import pytest
from gateway.routes import ROUTES

ROUTE = {(r.method, r.path): r for r in ROUTES}
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    ("POST", "/api/deployments") not in ROUTE, reason="the gateway has no /api/deployments yet")]

# enters on the first closed bar and never exits by rule, so a signal comes within a minute
STRATEGY = {
    "name": "always in", "timeframe": "1m", "entryRule": "close > 0", "exitRule": "close < 0",
    "instrument": {"segment": "NSE_EQ", "securityId": "2885", "symbol": "RELIANCE"},
    "positionSize": 1, "productType": "intraday", "direction": "long",
}


@pytest.fixture(autouse=True)
def _services_run(e2e):
    for name in ("execution", "backtest", "marketdata", "brokerage"):
        if not e2e.runs(name):
            pytest.skip(f"platform.toml does not run {name} yet")


async def _setup(api, label: str) -> tuple[str, dict, dict]:
    """Return (token, paper account, strategy) of a fresh verified user."""
    _, token, _ = await api.verified_signup(label)
    auth = api.bearer(token)
    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "paper", "label": "paper", "startingCapital": "1000000"})
    assert r.status_code == 201, r.text
    paper = r.json()
    r = await api.http.post("/api/strategies", headers=auth, json=STRATEGY)
    assert r.status_code == 201, r.text
    return token, paper, r.json()


async def test_deploy_on_paper_trade_pause_resume_and_kill(api, e2e):
    token, paper, strategy = await _setup(api, "deployer")
    auth = api.bearer(token)
    async with api.socket(token) as ws:
        r = await api.http.post("/api/deployments", headers=auth, json={
            "strategyId": strategy["id"], "accountId": paper["id"]})
        assert r.status_code == 201, r.text
        dep = r.json()
        assert dep["status"] == "active" and dep["broker"] == "paper"
        assert dep["symbol"] == "RELIANCE" and dep["strategyVersion"] == 1
        seen = await api.pushed(ws, lambda m: m["subject"].endswith(".deployment.started"))
        assert seen[-1]["data"]["deploymentId"] == dep["id"]

    # the first closed 1-minute bar makes an entry signal, an order, a fill and a position
    logs = await api.until(
        lambda: api.http.get(f"/api/deployments/{dep['id']}/logs", headers=auth,
                             params={"kind": "signal"}),
        lambda b: b["items"], timeout=90, what="an entry signal")
    assert logs["items"][0]["deploymentId"] == dep["id"]
    orders = await api.until(
        lambda: api.http.get("/api/orders", headers=auth, params={"deploymentId": dep["id"]}),
        lambda b: any(o["status"] == "filled" for o in b["items"]), timeout=30,
        what="the deployment's order to fill")
    order = next(o for o in orders["items"] if o["status"] == "filled")
    assert order["accountId"] == paper["id"] and order["source"] != "manual"
    assert order["transactionType"] == "BUY" and order["productType"] == "INTRADAY"
    await api.until(
        lambda: api.http.get("/api/portfolio/positions", headers=auth,
                             params={"accountId": paper["id"]}),
        lambda b: any(p["securityId"] == "2885" and p["netQuantity"] == 1 for p in b["items"]),
        what="the paper position")
    await api.until(lambda: api.http.get(f"/api/deployments/{dep['id']}", headers=auth),
                    lambda d: d["stats"]["totalOrders"] >= 1 and d["stats"]["netQuantity"] == 1,
                    what="the deployment's stats")

    r = await api.http.put(f"/api/deployments/{dep['id']}/pause", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "paused", r.text
    r = await api.http.put(f"/api/deployments/{dep['id']}/resume", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text

    # whichever service the gateway routes the kill switch to, it must stop the deployment
    body = {"reason": "e2e"} if ROUTE[("POST", "/api/killswitch")].subject.startswith(
        "svc.execution.") else {}
    r = await api.http.post("/api/killswitch", headers=auth, json=body)
    assert r.status_code == 200, r.text
    await api.until(lambda: api.http.get(f"/api/deployments/{dep['id']}", headers=auth),
                    lambda d: d["status"] in ("stopped", "halted"), what="the kill switch")
    # the kill switch flattens what the deployment held
    await api.until(
        lambda: api.http.get("/api/portfolio/positions", headers=auth,
                             params={"accountId": paper["id"]}),
        lambda b: all(p["netQuantity"] == 0 for p in b["items"]), timeout=30,
        what="the position to be closed")
    r = await api.http.put(f"/api/deployments/{dep['id']}/resume", headers=auth)
    assert r.status_code >= 400 and r.json()["code"] == r.status_code, r.text

    if e2e.runs("notify") and ("GET", "/api/notifications") in ROUTE:
        await api.until(
            lambda: api.http.get("/api/notifications", headers=auth, params={"pageSize": 100}),
            lambda b: {"STRATEGY_DEPLOYED", "ORDER_FILLED"} <= {n["type"] for n in b["items"]},
            timeout=20, what="the deployment's notifications")


async def test_live_deploy_needs_the_risk_warning_then_trades_at_the_broker(api):
    token, _, strategy = await _setup(api, "live")
    auth = api.bearer(token)
    client_id, dhan_token = await api.sim_client()
    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "dhan", "dhanClientId": client_id, "accessToken": dhan_token})
    assert r.status_code == 201, r.text
    dhan = r.json()
    r = await api.http.post("/api/deployments", headers=auth, json={
        "strategyId": strategy["id"], "accountId": dhan["id"]})
    body = api.error(r, 400, "VALIDATION_ERROR")
    assert "riskAcknowledged" in {d["field"] for d in body["details"]}
    r = await api.http.post("/api/deployments", headers=auth, json={
        "strategyId": strategy["id"], "accountId": dhan["id"], "riskAcknowledged": True})
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["broker"] == "dhan" and dep["status"] == "active"
    async with api.client() as other_http:
        _, other, _ = await api.verified_signup("stranger", http=other_http)
        r = await other_http.get(f"/api/deployments/{dep['id']}", headers=api.bearer(other))
        api.error(r, 404, "NOT_FOUND")
        r = await other_http.put(f"/api/deployments/{dep['id']}/pause", headers=api.bearer(other))
        api.error(r, 404, "NOT_FOUND")
    # the next closed bar trades at the (simulated) broker
    orders = await api.until(
        lambda: api.http.get("/api/orders", headers=auth, params={"deploymentId": dep["id"]}),
        lambda b: any(o["status"] == "filled" for o in b["items"]), timeout=60,
        what="the live deployment's order to fill at the broker")
    filled = next(o for o in orders["items"] if o["status"] == "filled")
    assert filled["accountId"] == dhan["id"] and filled["brokerOrderId"]
    await api.until(
        lambda: api.http.get("/api/portfolio/positions", headers=auth,
                             params={"accountId": dhan["id"]}),
        lambda b: any(p["securityId"] == "2885" and p["netQuantity"] == 1 for p in b["items"]),
        what="the broker's position")
    r = await api.http.delete(f"/api/deployments/{dep['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "stopped", r.text

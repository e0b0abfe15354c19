"""Strategies and backtests through the real gateway, backtest, marketdata and simulator
processes (issue 5, "Done when")."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from gateway.routes import ROUTES

SERVED = {r.path for r in ROUTES}
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    "/api/backtests" not in SERVED, reason="the gateway has no /api/strategies routes yet")]

TYPO = "sma(close, 10) crosses above smaa(close, 30)"
ENTRY = "sma(close, 10) crosses above sma(close, 30)"
EXIT = "sma(close, 10) crosses below sma(close, 30)"
STRATEGY = {
    "name": "RELIANCE golden cross", "timeframe": "1d", "exitRule": EXIT,
    "instrument": {"segment": "NSE_EQ", "securityId": "2885", "symbol": "RELIANCE"},
    "positionSize": 10, "productType": "delivery", "direction": "long", "stopLossPct": "5",
}
# five years of the real daily bars the simulator replays, up to the day before its clock
FROM, TO = date(2020, 10, 1), date(2025, 7, 22)


@pytest.fixture(autouse=True)
def _services_run(e2e):
    for name in ("backtest", "marketdata"):
        if not e2e.runs(name):
            pytest.skip(f"platform.toml does not run {name} yet")


async def test_typo_fix_backtest_five_years_and_read_the_results(api):
    email, token, user = await api.signup("quant")
    auth = api.bearer(token)
    r = await api.http.post("/api/strategies/validate", headers=auth, json={"entryRule": TYPO})
    assert r.status_code == 200, r.text
    check = r.json()["entryRule"]
    assert check["valid"] is False
    where = check["errors"][0]
    assert (where["line"], where["col"]) == (1, TYPO.index("smaa") + 1), where
    assert "smaa" in where["message"]

    r = await api.http.post("/api/strategies", headers=auth,
                            json={**STRATEGY, "entryRule": TYPO})
    body = api.error(r, 400, "VALIDATION_ERROR")
    detail = next(d for d in body["details"] if d["field"] == "entryRule")
    assert f"col {TYPO.index('smaa') + 1}" in detail["message"] and "smaa" in detail["message"]

    r = await api.http.post("/api/strategies", headers=auth, json={**STRATEGY, "entryRule": ENTRY})
    assert r.status_code == 201, r.text
    strategy = r.json()
    assert strategy["status"] == "draft" and strategy["version"] == 1

    async with api.socket(token) as ws:
        r = await api.http.post("/api/backtests", headers=auth, json={
            "strategyId": strategy["id"], "fromDate": FROM.isoformat(), "toDate": TO.isoformat(),
            "initialCapital": "100000"})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("queued", "running") and job["strategyVersion"] == 1
        # the user watches it: progress, then the completion, arrive on the socket
        seen = await api.pushed(ws, lambda m: m["subject"].endswith(".backtest.completed"),
                                timeout=60)
    assert f"evt.{user['id']}.backtest.progress" in {m["subject"] for m in seen}
    done = (await api.http.get(f"/api/backtests/{job['id']}", headers=auth)).json()
    assert done["status"] == "completed" and done["progress"] == 100, done

    r = await api.http.get(f"/api/backtests/{job['id']}/results", headers=auth,
                           params={"pageSize": 500})
    assert r.status_code == 200, r.text
    res = r.json()
    # about 250 trading days a year
    assert 1100 <= res["bars"] <= 1250, res["bars"]
    trades = res["trades"]["items"]
    assert res["trades"]["total"] == len(trades) > 0
    assert all(FROM.isoformat() <= t["entryTime"][:10] <= t["exitTime"][:10] for t in trades)
    # a position still open at the end is closed at the end of the window (midnight after TO)
    assert all(t["exitTime"][:10] <= TO.isoformat() for t in trades if t["exitReason"] != "end")
    assert all(t["exitTime"][:10] <= (TO + timedelta(days=1)).isoformat() for t in trades)
    assert all(t["qty"] == 10 and t["side"] == "long" for t in trades)
    curve = res["equityCurve"]
    assert len(curve) > 100 and curve[0]["ts"][:10] >= FROM.isoformat()
    assert all(p["drawdown"] <= 0 or p["drawdownPct"] >= 0 for p in curve)
    metrics = res["metrics"]
    assert {"netProfit", "totalReturnPct", "maxDrawdownPct"} <= set(metrics), metrics
    # the exact net profit is the sum of the trades' net P&L
    assert Decimal(str(metrics["netProfit"])) == sum(Decimal(t["pnlNet"]) for t in trades)

    r = await api.http.get(f"/api/strategies/{strategy['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "backtested"


    if api.e2e.runs("notify"):  # the finished backtest is in the inbox and in the mail
        inbox = await api.until(
            lambda: api.http.get("/api/notifications", headers=auth,
                                 params={"type": "BACKTEST_COMPLETED"}),
            lambda b: b["items"], timeout=20, what="the backtest notification")
        assert inbox["items"][0]["link"] == f"/backtests/{job['id']}"
    if api.e2e.runs("notify.mailsink"):
        async with httpx.AsyncClient(base_url=api.e2e.mail_url, timeout=5) as sink:
            await api.until(lambda: sink.get("/api/messages"), lambda ms: any(
                email in m["to"] and f"/backtests/{job['id']}" in m["text"] for m in ms),
                timeout=20, what="the backtest mail")

    # a second, shorter run, compared with the first: the list parameter may be repeated
    # (OpenAPI's form for a query array, what the SPA's generated client sends) or `a,b`
    r = await api.http.post("/api/backtests", headers=auth, json={
        "strategyId": strategy["id"], "fromDate": (TO - timedelta(days=365)).isoformat(),
        "toDate": TO.isoformat(), "initialCapital": "100000"})
    assert r.status_code == 202, r.text
    second = r.json()["id"]
    await api.until(lambda: api.http.get(f"/api/backtests/{second}", headers=auth),
                    lambda b: b["status"] == "completed", timeout=60, what="the second backtest")
    for params in ({"backtestIds": [job["id"], second]}, {"backtestIds": f"{job['id']},{second}"}):
        r = await api.http.get("/api/analytics/compare", headers=auth, params=params)
        assert r.status_code == 200, r.text
        assert [row["backtestId"] for row in r.json()["rows"]] == [job["id"], second], params


async def test_another_user_cannot_see_my_strategy_or_backtest(api):
    _, token, _ = await api.signup("author")
    r = await api.http.post("/api/strategies", headers=api.bearer(token),
                            json={**STRATEGY, "entryRule": ENTRY})
    assert r.status_code == 201, r.text
    strategy = r.json()
    async with api.client() as other_http:
        _, other, _ = await api.signup("peeker", http=other_http)
        r = await other_http.get(f"/api/strategies/{strategy['id']}", headers=api.bearer(other))
        api.error(r, 404, "NOT_FOUND")
        r = await other_http.post("/api/backtests", headers=api.bearer(other), json={
            "strategyId": strategy["id"], "fromDate": "2024-01-01", "toDate": "2024-12-31"})
        api.error(r, 404, "NOT_FOUND")
        r = await other_http.get("/api/strategies", headers=api.bearer(other))
        assert r.status_code == 200 and r.json()["items"] == []

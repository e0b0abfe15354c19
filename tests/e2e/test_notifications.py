"""Notifications through the real gateway, notify, brokerage and simulator processes: what a
user's actions produce in the inbox, over /ws and in the mail sink (issue 7, "Done when")."""

from __future__ import annotations

import httpx
import pytest
from gateway.routes import ROUTES

SERVED = {r.path for r in ROUTES}
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    "/api/notifications" not in SERVED, reason="the gateway has no /api/notifications yet")]


@pytest.fixture(autouse=True)
def _notify_runs(e2e):
    if not e2e.runs("notify"):
        pytest.skip("platform.toml does not run notify yet")


async def _inbox(api, token: str, want: set[str]) -> list[dict]:
    """Wait until the inbox holds notifications of every wanted type; return the inbox."""
    body = await api.until(
        lambda: api.http.get("/api/notifications", headers=api.bearer(token),
                             params={"pageSize": 100}),
        lambda b: want <= {n["type"] for n in b["items"]}, timeout=20, what=f"{want}")
    return body["items"]


async def test_an_order_notifies_in_the_inbox_and_over_ws(api):
    _, token, user = await api.verified_signup("notified")
    auth = api.bearer(token)
    client_id, dhan_token = await api.sim_client()
    r = await api.http.post("/api/brokerages/link", headers=auth, json={
        "broker": "dhan", "dhanClientId": client_id, "accessToken": dhan_token})
    assert r.status_code == 201, r.text
    async with api.socket(token) as ws:
        r = await api.http.post("/api/orders", headers=auth, json={
            "securityId": "2885", "exchangeSegment": "NSE_EQ", "accountId": r.json()["id"],
            "transactionType": "BUY", "quantity": 1, "orderType": "MARKET",
            "productType": "INTRADAY"})
        assert r.status_code == 201, r.text
        order = r.json()
        seen = await api.pushed(ws, lambda m: m["subject"].endswith(".notification.created")
                                and m["data"]["type"] == "ORDER_FILLED", timeout=20)
    assert seen[-1]["subject"] == f"evt.{user['id']}.notification.created"
    assert seen[-1]["data"]["link"] == f"/orders/{order['id']}"
    inbox = await _inbox(api, token, {"ORDER_PLACED", "ORDER_FILLED"})
    filled = next(n for n in inbox if n["type"] == "ORDER_FILLED")
    assert filled["link"] == f"/orders/{order['id']}" and filled["isRead"] is False
    assert "RELIANCE" in filled["title"] + filled["message"] or "2885" in filled["message"]

    r = await api.http.get("/api/notifications/unread-count", headers=auth)
    assert r.status_code == 200 and r.json()["count"] >= 2, r.text
    r = await api.http.put(f"/api/notifications/{filled['id']}/read", headers=auth)
    assert r.status_code == 200 and r.json()["isRead"] is True, r.text
    r = await api.http.put("/api/notifications/read-all", headers=auth)
    assert r.status_code == 200, r.text
    r = await api.http.get("/api/notifications/unread-count", headers=auth)
    assert r.json()["count"] == 0

    async with api.client() as other_http:
        _, other, _ = await api.signup("nosy", http=other_http)
        r = await other_http.put(f"/api/notifications/{filled['id']}/read",
                                 headers=api.bearer(other))
        api.error(r, 404, "NOT_FOUND")
        r = await other_http.get("/api/notifications", headers=api.bearer(other))
        assert r.status_code == 200, r.text
        # only their own sign-in notice, nothing of mine
        assert {n["type"] for n in r.json()["items"]} <= {"NEW_LOGIN"}
        assert filled["id"] not in {n["id"] for n in r.json()["items"]}


async def test_account_mail_reaches_the_mail_sink(api, e2e):
    if not e2e.runs("notify.mailsink"):
        pytest.skip("platform.toml runs no mail sink")
    email, _, _ = await api.signup("mailed")

    def mine(mails: list[dict]) -> dict[str, dict]:
        return {m["subject"]: m for m in mails if email in m["to"]}

    async with httpx.AsyncClient(base_url=e2e.mail_url, timeout=5) as sink:
        # the verification link, and the notice of the sign-in that followed
        mails = await api.until(lambda: sink.get("/api/messages"),
                                lambda ms: len(mine(ms)) >= 2, timeout=20,
                                what=f"two mails to {email}")
    verify = next(m for m in mine(mails).values() if "/verify-email?token=" in m["text"])
    assert f"{api.e2e.url}/verify-email?token=" in verify["text"]
    assert any("sign" in subject.lower() for subject in mine(mails)), list(mine(mails))

"""User data, API keys, admin powers, rate limits, audit and /ws through the real platform."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

pytestmark = pytest.mark.e2e


async def test_profile_password_and_preferences(api):
    email, token, _user = await api.signup()
    auth = api.bearer(token)
    r = await api.http.put("/api/user/profile", json={"name": "Renamed", "phone": "+91 98765 43210"},
                           headers=auth)
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    api.error(await api.http.put("/api/user/profile", json={"phone": "abc"}, headers=auth), 400,
              "VALIDATION_ERROR")
    r = await api.http.put("/api/user/preferences", json={"theme": "dark"}, headers=auth)
    assert r.status_code == 200 and r.json()["theme"] == "dark"
    r = await api.http.get("/api/user/preferences", headers=auth)
    assert r.json()["theme"] == "dark"

    async with api.client() as laptop:  # a second session, ended by the password change
        other = await api.login(email, http=laptop)
        r = await api.http.put("/api/user/password", headers=auth, json={
            "currentPassword": "Wr0ng-password", "newPassword": "N3w-password-42"})
        assert r.status_code in (400, 401, 403)
        r = await api.http.put("/api/user/password", headers=auth, json={
            "currentPassword": "Corr3ct-horse-battery", "newPassword": "N3w-password-42"})
        assert r.status_code == 200, r.text
        api.error(await laptop.get("/api/user/profile", headers=api.bearer(other)), 401,
                  "UNAUTHORIZED")
    await api.login(email, "N3w-password-42")


async def test_api_keys_are_shown_once_usable_and_private(api):
    _, token_a, _ = await api.signup("alice")
    async with api.client() as bob_http:
        _, token_b, _ = await api.signup("bob", http=bob_http)
        r = await api.http.post("/api/user/api-keys", json={"name": "bot"},
                                headers=api.bearer(token_a))
        assert r.status_code == 201, r.text
        key, key_id = r.json()["key"], r.json()["info"]["id"]
        r = await api.http.get("/api/user/profile", headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["name"]
        listed = (await api.http.get("/api/user/api-keys", headers=api.bearer(token_a))).json()
        assert [k["id"] for k in listed] == [key_id] and "key" not in listed[0]
        # another user can neither see nor revoke it
        assert (await bob_http.get("/api/user/api-keys", headers=api.bearer(token_b))).json() == []
        api.error(await bob_http.delete(f"/api/user/api-keys/{key_id}",
                                        headers=api.bearer(token_b)), 404, "NOT_FOUND")
        r = await api.http.delete(f"/api/user/api-keys/{key_id}", headers=api.bearer(token_a))
        assert r.status_code == 200, r.text
        api.error(await api.http.get("/api/user/profile", headers={"X-API-Key": key}), 401,
                  "UNAUTHORIZED")


async def test_admin_endpoints_refuse_users(api):
    _, token, user = await api.signup()
    auth = api.bearer(token)
    api.error(await api.http.get("/api/admin/users", headers=auth), 403, "FORBIDDEN")
    api.error(await api.http.get("/api/admin/logs", headers=auth), 403, "FORBIDDEN")
    api.error(await api.http.put(f"/api/admin/users/{user['id']}/status",
                                 json={"status": "suspended"}, headers=auth), 403, "FORBIDDEN")


async def test_suspension_takes_effect_at_once_and_is_audited(api):
    email, token, user = await api.signup("victim")
    admin = api.bearer(await api.admin_token())
    r = await api.http.get("/api/admin/users", params={"q": email}, headers=admin)
    assert r.status_code == 200 and [u["id"] for u in r.json()["items"]] == [user["id"]]
    r = await api.http.put(f"/api/admin/users/{user['id']}/status",
                           json={"status": "suspended", "reason": "e2e"}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    api.error(await api.http.get("/api/user/profile", headers=api.bearer(token)), 401,
              "UNAUTHORIZED")
    r = await api.http.post("/api/auth/login", json={"email": email,
                                                     "password": "Corr3ct-horse-battery"})
    assert r.status_code in (401, 403)
    r = await api.http.put(f"/api/admin/users/{user['id']}/status",
                           json={"status": "active"}, headers=admin)
    assert r.status_code == 200
    await api.login(email)
    # the gateway's audit events reach auth's audit log
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        r = await api.http.get("/api/admin/logs", params={"service": "gateway", "pageSize": 200,
                                                       "action": "auth.admin.set_status"},
                               headers=admin)
        assert r.status_code == 200, r.text
        hits = [e for e in r.json()["items"]
                if e.get("path") == f"/api/admin/users/{user['id']}/status"]
        if len(hits) >= 2:
            break
        assert loop.time() < deadline, "gateway audit events never reached the audit log"
        await asyncio.sleep(0.1)
    assert all(e["method"] == "PUT" and e["status"] == 200 for e in hits)


async def test_rate_limit_answers_429_with_retry_after(api):
    async with api.client(ip="192.0.2.200") as flood:
        codes = [(await flood.post("/api/auth/refresh")).status_code for _ in range(26)]
        assert codes[:25] == [401] * 25 and codes[25] == 429
        r = await flood.post("/api/auth/refresh")
        api.error(r, 429, "RATE_LIMITED")
        assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_unknown_routes_and_bad_json_keep_the_error_shape(api):
    api.error(await api.http.get("/api/nothing-here"), 404, "NOT_FOUND")
    r = await api.http.post("/api/auth/login", content=b"{oops",
                            headers={"Content-Type": "application/json"})
    api.error(r, 400, "VALIDATION_ERROR")
    r = await api.http.get("/api/openapi.json")
    assert r.status_code == 200 and "/api/admin/logs" in r.json()["paths"]
    assert (await api.http.get("/api/docs")).status_code == 200


async def _ws_login(api, token: str):
    ws = await websockets.connect(api.e2e.url.replace("http://", "ws://") + "/ws")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
    return ws


async def test_ws_pushes_own_events_not_other_users(api):
    email_a, token_a, user_a = await api.signup("wsa")
    async with api.client() as b_http:
        email_b, token_b, user_b = await api.signup("wsb", http=b_http)
        ws_a, ws_b = await _ws_login(api, token_a), await _ws_login(api, token_b)
        try:
            # a verification mail carries a live token: it never reaches the browser
            r = await api.http.post("/api/auth/resend-verification", headers=api.bearer(token_a))
            assert r.status_code == 200
            await api.mailed_token(email_a, "email_verification_requested")  # it was mailed
            async with api.client() as elsewhere:  # a second device (its own refresh cookie)
                await api.login(email_a, http=elsewhere)
            msg = json.loads(await asyncio.wait_for(ws_a.recv(), 10))
            assert msg["type"] == "event"
            assert msg["subject"] == f"evt.{user_a['id']}.auth.new_login"
            assert msg["data"]["userId"] == user_a["id"]
            # B's first event is its own, though A's was published earlier
            await api.login(email_b, http=b_http)
            msg = json.loads(await asyncio.wait_for(ws_b.recv(), 10))
            assert msg["subject"].startswith(f"evt.{user_b['id']}.")
            # logout disconnects the session's socket
            await api.http.post("/api/auth/logout", headers=api.bearer(token_a))
            with pytest.raises(websockets.ConnectionClosed) as exc:
                while True:
                    await asyncio.wait_for(ws_a.recv(), 10)
            assert exc.value.rcvd.code == 4401
        finally:
            await ws_a.close()
            await ws_b.close()


async def test_ws_refuses_a_bad_first_message(api):
    ws = await websockets.connect(api.e2e.url.replace("http://", "ws://") + "/ws")
    await ws.send(json.dumps({"type": "auth", "token": "not-a-token"}))
    with pytest.raises(websockets.ConnectionClosed) as exc:
        await asyncio.wait_for(ws.recv(), 5)
    assert exc.value.rcvd.code == 4401

"""The running gateway over real HTTP, NATS and Redis, with a fake auth service behind it."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest
from contracts import auth as A
from contracts.events.audit import AuditRecorded
from nats.errors import TimeoutError as NatsTimeout

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == code and body["code"] == status and body["message"]
    assert "Traceback" not in resp.text
    return body


async def test_forwards_identity_request_id_and_trace_headers(gw):
    token = gw.auth.token(sub="u5", role="user", sid="s5", ev=True)
    r = await gw.http.get("/api/user/profile", headers={
        **bearer(token), "X-Request-ID": "req-123", "User-Agent": "pytest-ua",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "req-123"
    body = r.json()
    assert body["userId"] == "u5" and body["sid"] == "s5" and body["verified"] is True
    assert body["requestId"] == "req-123" and body["ip"] == "127.0.0.1" and body["ua"] == "pytest-ua"
    assert body["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")


async def test_request_id_is_generated_when_missing_or_unsafe(gw):
    r = await gw.http.get("/api/nope", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(r.headers["x-request-id"]) == 32


async def test_client_ip_comes_from_forwarded_for_only_via_trusted_proxy(gw):
    token = gw.auth.token()
    r = await gw.http.get("/api/user/profile",
                          headers={**bearer(token), "X-Forwarded-For": "203.0.113.9, 127.0.0.1"})
    assert r.json()["ip"] == "203.0.113.9"


async def test_missing_bad_and_revoked_credentials_answer_401(gw):
    assert_error(await gw.http.get("/api/user/profile"), 401, "UNAUTHORIZED")
    assert_error(await gw.http.get("/api/user/profile", headers={"Authorization": "Basic x"}),
                 401, "UNAUTHORIZED")
    token = gw.auth.token(sid="s-revoked")
    assert (await gw.http.get("/api/user/profile", headers=bearer(token))).status_code == 200
    await gw.redis.set(A.revoked_session_key(gw.prefix, "s-revoked"), "1")
    assert_error(await gw.http.get("/api/user/profile", headers=bearer(token)), 401, "UNAUTHORIZED")
    old = gw.auth.token(sub="u-old", iat=int(time.time()) - 10)
    await gw.redis.set(A.user_revoked_before_key(gw.prefix, "u-old"), str(int(time.time())))
    assert_error(await gw.http.get("/api/user/profile", headers=bearer(old)), 401, "UNAUTHORIZED")


async def test_expired_token_answers_401(gw):
    expired = gw.auth.token(iat=int(time.time()) - 3600, ttl=60)
    assert_error(await gw.http.get("/api/user/profile", headers=bearer(expired)), 401,
                 "UNAUTHORIZED")


async def test_admin_routes_refuse_users_and_serve_admins(gw):
    r = await gw.http.get("/api/admin/users", headers=bearer(gw.auth.token(role="user")))
    assert_error(r, 403, "FORBIDDEN")
    r = await gw.http.get("/api/admin/users?page=2&pageSize=5",
                          headers=bearer(gw.auth.token(role="admin")))
    assert r.status_code == 200 and r.json()["page"] == 2 and r.json()["pageSize"] == 5


async def test_path_params_join_the_body(gw):
    r = await gw.http.put("/api/admin/users/u42/status", json={"status": "suspended"},
                          headers=bearer(gw.auth.token(role="admin")))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "u42" and r.json()["status"] == "suspended"


async def test_api_key_authenticates(gw):
    r = await gw.http.get("/api/user/profile", headers={"X-API-Key": "ak_valid_key_123"})
    assert r.status_code == 200 and r.json()["userId"] == "u9" and r.json()["verified"] is True
    assert_error(await gw.http.get("/api/user/profile", headers={"X-API-Key": "ak_wrong_key_1"}),
                 401, "UNAUTHORIZED")


async def test_only_given_fields_are_forwarded(gw):
    r = await gw.http.put("/api/user/profile", json={"name": "New"},
                          headers=bearer(gw.auth.token()))
    assert r.json() == {"fieldsSet": ["name"]}


async def test_client_mistakes_get_the_error_shape_never_500(gw):
    h = bearer(gw.auth.token())
    body = assert_error(await gw.http.put("/api/user/profile", content=b"{not json",
                                          headers=h), 400, "VALIDATION_ERROR")
    assert "Malformed JSON" in body["message"]
    assert_error(await gw.http.put("/api/user/profile", json=[1, 2], headers=h), 400,
                 "VALIDATION_ERROR")
    body = assert_error(await gw.http.post("/api/auth/login", json={"email": "nope"}), 400,
                        "VALIDATION_ERROR")
    assert {d["field"] for d in body["details"]} == {"email", "password"}
    body = assert_error(await gw.http.put("/api/user/profile", json={"bogus": 1}, headers=h),
                        400, "VALIDATION_ERROR")
    assert body["details"][0]["field"] == "bogus"
    assert_error(await gw.http.get("/api/does-not-exist"), 404, "NOT_FOUND")
    r = await gw.http.delete("/api/user/profile", headers=h)
    assert r.status_code == 405 and r.json()["code"] == 405 and "allow" in r.headers
    assert_error(await gw.http.post("/api/auth/login", content=b"x" * 5000), 413,
                 "PAYLOAD_TOO_LARGE")


async def test_streamed_body_over_the_limit_answers_413(gw):
    async def chunks():
        for _ in range(10):
            yield b"x" * 1000

    r = await gw.http.post("/api/auth/login", content=chunks())
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


async def test_service_errors_pass_through_with_their_status(gw):
    r = await gw.http.post("/api/auth/register", json={
        "email": "a@example.com", "password": "s3cret-pass", "name": "A"})
    assert_error(r, 409, "CONFLICT")
    r = await gw.http.post("/api/auth/forgot-password", json={"email": "a@example.com"})
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["retry-after"] == "7"


async def test_no_responders_answers_503_fast(gw):
    started = time.monotonic()
    r = await gw.http.post("/api/auth/reset-password", json={
        "token": "t" * 20, "password": "new-pass-123"})
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert "svc.auth.password.reset" in body["message"]
    assert time.monotonic() - started < 1.0


async def test_reply_timeout_answers_503_after_the_timeout_not_a_hang(gw):
    started = time.monotonic()
    r = await gw.http.get("/api/user/preferences", headers=bearer(gw.auth.token()))
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert "did not answer" in body["message"]
    assert time.monotonic() - started < 2.5  # nats_timeout_s is 1 s here


async def test_cookie_flow_login_refresh_logout(gw):
    r = await gw.http.post("/api/auth/login", json={"email": "a@example.com",
                                                    "password": "right-pass-1"})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert "refreshToken" not in tokens and tokens["accessToken"]
    cookie = r.headers["set-cookie"]
    for part in ("at_refresh=", "HttpOnly", "Path=/api/auth", "SameSite=strict"):
        assert part.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # dev default
    first = gw.http.cookies["at_refresh"]

    r = await gw.http.post("/api/auth/refresh")
    assert r.status_code == 200, r.text
    assert "refreshToken" not in r.json()
    second = gw.http.cookies["at_refresh"]
    assert second != first

    # reuse of the spent token (a non-browser client sends it in the body) is refused
    gw.http.cookies.clear()
    r = await gw.http.post("/api/auth/refresh", json={"refreshToken": first})
    assert_error(r, 401, "UNAUTHORIZED")
    assert "max-age=0" in r.headers["set-cookie"].lower()

    gw.http.cookies.set("at_refresh", second, path="/api/auth")
    r = await gw.http.post("/api/auth/logout")
    assert r.status_code == 200 and "max-age=0" in r.headers["set-cookie"].lower()
    sent = [body for subj, body, _ in gw.auth.seen if subj == A.LOGOUT]
    assert sent[-1] == {"refreshToken": second}


async def test_refresh_without_any_token_is_401(gw):
    assert_error(await gw.http.post("/api/auth/refresh"), 401, "UNAUTHORIZED")


async def test_auth_ip_rate_limit_answers_429_with_retry_after(gw):
    gw.app.settings.rate_auth_ip = 3
    h = {"X-Forwarded-For": "198.51.100.77"}
    codes = [(await gw.http.post("/api/auth/refresh", headers=h)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = await gw.http.post("/api/auth/refresh", headers=h)
    assert_error(r, 429, "RATE_LIMITED")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # another address is not affected
    r = await gw.http.post("/api/auth/refresh", headers={"X-Forwarded-For": "198.51.100.78"})
    assert r.status_code == 401


async def test_per_user_rate_limit(gw):
    gw.app.settings.rate_user = 2
    a, b = bearer(gw.auth.token(sub="ua")), bearer(gw.auth.token(sub="ub"))
    codes = [(await gw.http.get("/api/user/profile", headers=a)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert (await gw.http.get("/api/user/profile", headers=b)).status_code == 200


async def test_state_changing_calls_are_audited_without_bodies(gw):
    js = gw.app.runtime.js
    sub = await js.subscribe("audit.gateway.http", deliver_policy="new")
    await gw.http.put("/api/admin/users/u42/status", json={"status": "suspended",
                                                             "reason": "secret-reason"},
                      headers={**bearer(gw.auth.token(sub="adm", role="admin")),
                               "X-Request-ID": "audit-1"})
    await gw.http.post("/api/auth/login", json={"email": "a@example.com", "password": "bad-pw"})
    events = []
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except NatsTimeout:
            continue
        assert b"secret-reason" not in msg.data and b"bad-pw" not in msg.data
        events.append(msgspec.json.decode(msg.data, type=AuditRecorded))
    await sub.unsubscribe()
    first, second = events
    assert (first.user_id, first.action, first.resource_id, first.status, first.request_id) == (
        "adm", "auth.admin.set_status", "u42", 200, "audit-1")
    assert second.outcome == "failure" and second.status == 401 and second.path == "/api/auth/login"


async def test_openapi_and_docs_are_served(gw):
    r = await gw.http.get("/api/openapi.json")
    assert r.status_code == 200 and "/api/auth/login" in r.json()["paths"]
    r = await gw.http.get("/api/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


async def test_cors_is_off_unless_configured(gw):
    r = await gw.http.options("/api/user/profile", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers
    await asyncio.sleep(0)


async def test_requests_are_counted_per_route_template(gw):
    from prometheus_client import REGISTRY

    labels = {"method": "DELETE", "route": "/api/user/api-keys/{keyId}", "status": "503"}
    before = REGISTRY.get_sample_value("gateway_http_requests_total", labels) or 0
    r = await gw.http.delete("/api/user/api-keys/k-1", headers=bearer(gw.auth.token()))
    assert r.status_code == 503
    assert REGISTRY.get_sample_value("gateway_http_requests_total", labels) == before + 1


async def test_redis_down_fails_closed_with_503(gw):
    import redis.asyncio as aioredis
    from gateway.ratelimit import RateLimiter

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        gw.app.gateway.auth._redis = dead
        gw.app.gateway.limiter = RateLimiter(dead, gw.prefix)
        r = await gw.http.get("/api/user/profile", headers=bearer(gw.auth.token()))
        assert_error(r, 503, "SERVICE_UNAVAILABLE")
        r = await gw.http.post("/api/auth/login", json={"email": "a@example.com",
                                                        "password": "right-pass-1"})
        assert_error(r, 503, "SERVICE_UNAVAILABLE")
    finally:
        await dead.aclose()


async def test_a_gateway_bug_is_500_in_the_error_shape_without_details(gw, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("secret internals")

    # the user's rate limit is queued with the session check in one Redis round trip
    monkeypatch.setattr(gw.app.gateway.limiter, "queue", boom)
    r = await gw.http.get("/api/user/profile", headers=bearer(gw.auth.token()))
    assert_error(r, 500, "INTERNAL_ERROR")
    assert "secret internals" not in r.text
    assert r.headers.get("x-request-id")

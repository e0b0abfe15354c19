"""Every auth endpoint through the real gateway and auth processes (issue 2 §7)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization

pytestmark = pytest.mark.e2e


async def test_register_validates_and_refuses_duplicates(api):
    email = api.email()
    user = await api.register(email)
    assert user["email"] == email and user["emailVerified"] is False
    r = await api.http.post("/api/auth/register", json={
        "email": email, "password": "An0ther-password", "name": "Dup"})
    api.error(r, 409, "CONFLICT")
    r = await api.http.post("/api/auth/register", json={
        "email": "not-an-email", "password": "short", "name": ""})
    body = api.error(r, 400, "VALIDATION_ERROR")
    assert {"email", "password", "name"} <= {d["field"] for d in body["details"]}


async def test_curl_style_session_register_login_profile_refresh_logout(api):
    email = api.email()
    await api.register(email)
    r = await api.http.post("/api/auth/login", json={"email": email, "password": "Corr3ct-horse-battery"})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert "refreshToken" not in tokens
    cookie = r.headers["set-cookie"].lower()
    assert "at_refresh=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/api/auth" in cookie
    r = await api.http.get("/api/user/profile", headers=api.bearer(tokens["accessToken"]))
    assert r.status_code == 200 and r.json()["email"] == email
    r = await api.http.post("/api/auth/refresh")
    assert r.status_code == 200, r.text
    fresh = r.json()["accessToken"]
    assert "refreshToken" not in r.json()
    r = await api.http.post("/api/auth/logout", headers=api.bearer(fresh))
    assert r.status_code == 200, r.text
    # logout takes effect at once: the access token and the cookie are both dead
    api.error(await api.http.get("/api/user/profile", headers=api.bearer(fresh)), 401,
              "UNAUTHORIZED")
    api.error(await api.http.post("/api/auth/refresh"), 401, "UNAUTHORIZED")


async def test_wrong_password_and_unknown_user_get_the_same_401(api):
    email = api.email()
    await api.register(email)
    wrong = await api.http.post("/api/auth/login", json={"email": email, "password": "Wr0ng-pass"})
    unknown = await api.http.post("/api/auth/login", json={
        "email": api.email("ghost"), "password": "Wr0ng-pass"})
    assert api.error(wrong, 401, "UNAUTHORIZED")["message"] == \
        api.error(unknown, 401, "UNAUTHORIZED")["message"]


async def test_repeated_failures_throttle_the_account(api):
    email = api.email()
    await api.register(email)
    for _ in range(3):
        r = await api.http.post("/api/auth/login", json={"email": email, "password": "Wr0ng-pass"})
        assert r.status_code == 401
    async with api.client() as other:  # even from another address, with the right password
        r = await other.post("/api/auth/login", json={"email": email,
                                                      "password": "Corr3ct-horse-battery"})
    api.error(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) >= 1


async def test_refresh_token_reuse_revokes_the_family(api):
    email = api.email()
    await api.register(email)
    await api.login(email)
    first = api.http.cookies["at_refresh"]
    r = await api.http.post("/api/auth/refresh")
    assert r.status_code == 200
    access = r.json()["accessToken"]
    second = api.http.cookies["at_refresh"]
    async with api.client() as thief:  # a non-browser client replays the spent token
        api.error(await thief.post("/api/auth/refresh", json={"refreshToken": first}), 401,
                  "UNAUTHORIZED")
    # the whole family is gone: the newest refresh token and its access token too
    api.error(await api.http.post("/api/auth/refresh", json={"refreshToken": second}), 401,
              "UNAUTHORIZED")
    api.error(await api.http.get("/api/user/profile", headers=api.bearer(access)), 401,
              "UNAUTHORIZED")


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


async def test_expired_tampered_and_unsigned_tokens_are_refused(api, e2e):
    _, token, _ = await api.signup()
    assert (await api.http.get("/api/user/profile", headers=api.bearer(token))).status_code == 200
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    key = serialization.load_pem_private_key(
        e2e.platform.secrets.file("jwt_signing_key").read_bytes(), password=None)
    now = int(time.time())
    expired = jwt.encode(claims | {"iat": now - 3600, "exp": now - 1800}, key, algorithm="EdDSA",
                         headers={"kid": header["kid"]})
    head, _, sig = token.split(".")
    tampered = f"{head}.{_b64(claims | {'role': 'admin'})}.{sig}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}."
    for bad in (expired, tampered, unsigned):
        api.error(await api.http.get("/api/user/profile", headers=api.bearer(bad)), 401,
                  "UNAUTHORIZED")
        api.error(await api.http.get("/api/admin/users", headers=api.bearer(bad)), 401,
                  "UNAUTHORIZED")


async def test_email_verification_token_works_once(api):
    email = api.email()
    await api.register(email)
    token = await api.mailed_token(email, "email_verification_requested")
    r = await api.http.post("/api/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    api.error(await api.http.post("/api/auth/verify-email", json={"token": token}), 400,
              "VALIDATION_ERROR")
    access = await api.login(email)
    r = await api.http.get("/api/user/profile", headers=api.bearer(access))
    assert r.json()["emailVerified"] is True


async def test_resend_verification_needs_a_signed_in_user(api):
    api.error(await api.http.post("/api/auth/resend-verification"), 401, "UNAUTHORIZED")
    _, token, _user = await api.signup()
    r = await api.http.post("/api/auth/resend-verification", headers=api.bearer(token))
    assert r.status_code == 200, r.text


async def test_password_reset_token_is_single_use_and_no_enumeration(api):
    email = api.email()
    await api.register(email)
    known = await api.http.post("/api/auth/forgot-password", json={"email": email})
    unknown = await api.http.post("/api/auth/forgot-password", json={"email": api.email("nobody")})
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    token = await api.mailed_token(email, "password_reset_requested")
    r = await api.http.post("/api/auth/reset-password", json={"token": token,
                                                              "password": "N3w-password-42"})
    assert r.status_code == 200, r.text
    r = await api.http.post("/api/auth/reset-password", json={"token": token,
                                                              "password": "Th1rd-password-42"})
    assert r.status_code in (400, 401) and r.json()["error"] in ("VALIDATION_ERROR",
                                                                   "UNAUTHORIZED")
    await api.login(email, "N3w-password-42")
    api.error(await api.http.post("/api/auth/login", json={
        "email": email, "password": "Corr3ct-horse-battery"}), 401, "UNAUTHORIZED")


async def test_two_factor_enable_login_and_disable(api):
    email, token, _ = await api.signup("twofa")
    auth = api.bearer(token)
    api.error(await api.http.post("/api/auth/enable-2fa"), 401, "UNAUTHORIZED")
    r = await api.http.post("/api/auth/enable-2fa", headers=auth)
    assert r.status_code == 200, r.text
    totp = pyotp.TOTP(r.json()["secret"])
    step = int(time.time()) // 30
    live = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in live)
    r = await api.http.post("/api/auth/verify-2fa", json={"code": wrong}, headers=auth)
    assert r.status_code in (400, 401) and r.status_code != 200
    r = await api.http.post("/api/auth/verify-2fa", json={"code": totp.generate_otp(step)},
                            headers=auth)
    assert r.status_code == 200, r.text
    recovery = r.json()["recoveryCodes"]
    assert len(recovery) >= 5

    async with api.client() as browser:
        r = await browser.post("/api/auth/login", json={"email": email,
                                                        "password": "Corr3ct-horse-battery"})
        body = r.json()
        assert body["twoFactorRequired"] is True and body.get("tokens") is None
        assert "set-cookie" not in r.headers
        challenge = body["challengeToken"]
        r = await browser.post("/api/auth/login/2fa", json={"challengeToken": challenge,
                                                            "code": wrong})
        api.error(r, 401, "UNAUTHORIZED")
        r = await browser.post("/api/auth/login/2fa", json={
            "challengeToken": challenge, "code": totp.generate_otp(step + 1)})
        assert r.status_code == 200, r.text
        assert r.json()["tokens"]["accessToken"] and "at_refresh" in browser.cookies

    async with api.client() as other:
        r = await other.post("/api/auth/login", json={"email": email,
                                                      "password": "Corr3ct-horse-battery"})
        challenge = r.json()["challengeToken"]
        r = await other.post("/api/auth/login/2fa", json={"challengeToken": challenge,
                                                          "recoveryCode": recovery[0]})
        assert r.status_code == 200, r.text
        r = await other.post("/api/auth/login", json={"email": email,
                                                      "password": "Corr3ct-horse-battery"})
        r = await other.post("/api/auth/login/2fa", json={
            "challengeToken": r.json()["challengeToken"], "recoveryCode": recovery[0]})
        api.error(r, 401, "UNAUTHORIZED")  # a recovery code works once

    r = await api.http.post("/api/auth/disable-2fa", headers=auth, json={
        "password": "Wr0ng-password", "recoveryCode": recovery[1]})
    assert r.status_code in (400, 401, 403), r.text
    r = await api.http.post("/api/auth/disable-2fa", headers=auth, json={
        "password": "Corr3ct-horse-battery", "recoveryCode": recovery[1]})
    assert r.status_code == 200, r.text
    r = await api.http.post("/api/auth/login", json={"email": email,
                                                     "password": "Corr3ct-horse-battery"})
    assert r.json()["tokens"]["accessToken"]

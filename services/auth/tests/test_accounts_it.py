"""Register, verify, sign in, refresh, sign out, forgotten and changed passwords, over NATS."""

import asyncio
import time
from urllib.parse import parse_qs, urlparse

import pytest
from contracts import auth as A
from contracts.errors import ErrorCode
from structlog.testing import capture_logs

PASSWORD = "Correct-horse-1"  # the harness registers users with it
IP = "203.0.113.5"

pytestmark = pytest.mark.integration


def _token(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


async def test_register_verify_and_profile(svc):
    with capture_logs() as logs:
        user = await svc.register("Ann@Example.com", name="Ann")
    assert user["email"] == "Ann@example.com" and user["emailVerified"] is False
    assert user["role"] == "user" and user["status"] == "active"
    mail = [e for e in logs if e.get("event") == "auth.mail"]
    assert mail and mail[0]["url"].startswith("http://127.0.0.1:8080/verify-email?token=")

    err = await svc.error(A.REGISTER, {"email": "ann@example.com", "password": PASSWORD, "name": "X"})
    assert err.error is ErrorCode.CONFLICT
    err = await svc.error(A.REGISTER, {"email": "not-an-email", "password": "short", "name": ""})
    assert err.error is ErrorCode.VALIDATION_ERROR
    assert {d.field for d in err.details} >= {"email", "password", "name"}

    event = await svc.event(user["id"], "email_verification_requested")
    assert event["verifyUrl"] == mail[0]["url"] and event["email"] == "Ann@example.com"

    # an unverified user can sign in; the token says so
    tokens = await svc.login("ann@example.com")
    assert tokens["user"]["emailVerified"] is False
    assert svc.headers(tokens["accessToken"]).get("x-email-verified") is None

    token = _token(event["verifyUrl"])
    assert (await svc.call(A.VERIFY_EMAIL, {"token": token}))["message"] == "Email verified"
    err = await svc.error(A.VERIFY_EMAIL, {"token": token})
    assert err.error is ErrorCode.VALIDATION_ERROR  # single use
    await svc.event(user["id"], "email_verified")

    fresh = await svc.call(A.REFRESH, {"refreshToken": tokens["refreshToken"]})
    assert fresh["user"]["emailVerified"] is True
    assert svc.headers(fresh["accessToken"])["x-email-verified"] == "true"
    msg = await svc.call(A.RESEND_VERIFICATION, token=fresh["accessToken"])
    assert msg["message"] == "Email already verified"

    access = fresh["accessToken"]
    profile = await svc.call(A.GET_PROFILE, token=access)
    assert profile["id"] == user["id"] and profile["lastLoginAt"] is not None
    updated = await svc.call(A.UPDATE_PROFILE, {"name": "Ann Lee", "phone": "+91 98765 43210"},
                             token=access)
    assert (updated["name"], updated["phone"]) == ("Ann Lee", "+91 98765 43210")
    assert (await svc.error(A.GET_PROFILE)).error is ErrorCode.UNAUTHORIZED
    err = await svc.error(A.UPDATE_PROFILE, {"role": "admin"}, token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR  # unknown fields are refused


async def test_wrong_password_and_unknown_email_answer_the_same(svc):
    await svc.register("bob@example.com")
    for body in ({"email": "bob@example.com", "password": "Wrong-pass-1"},
                 {"email": "nobody@example.com", "password": PASSWORD}):
        err = await svc.error(A.LOGIN, body, ip=None)
        assert err.error is ErrorCode.UNAUTHORIZED and err.message == "Invalid email or password"


async def test_resend_verification_spends_the_earlier_link(svc):
    user = await svc.register("cat@example.com")
    first = _token((await svc.event(user["id"], "email_verification_requested"))["verifyUrl"])
    tokens = await svc.login("cat@example.com")
    msg = await svc.call(A.RESEND_VERIFICATION, token=tokens["accessToken"])
    assert msg["message"] == "Verification email sent"
    assert (await svc.error(A.RESEND_VERIFICATION)).error is ErrorCode.UNAUTHORIZED

    async def second_link():
        ev = await svc.event(user["id"], "email_verification_requested")
        return ev if _token(ev["verifyUrl"]) != first else None

    second = _token((await svc.eventually(second_link))["verifyUrl"])
    assert (await svc.error(A.VERIFY_EMAIL, {"token": first})).error is ErrorCode.VALIDATION_ERROR
    await svc.call(A.VERIFY_EMAIL, {"token": second})


async def test_refresh_rotates_and_reuse_revokes_the_family(svc):
    await svc.register("dan@example.com")
    first = await svc.login("dan@example.com")
    other = await svc.login("dan@example.com")  # a second device: another family
    second = await svc.call(A.REFRESH, {"refreshToken": first["refreshToken"]})
    assert second["refreshToken"] != first["refreshToken"]
    assert svc.headers(second["accessToken"])["x-session-id"] == svc.headers(
        first["accessToken"])["x-session-id"]

    err = await svc.error(A.REFRESH, {"refreshToken": first["refreshToken"]})
    assert err.error is ErrorCode.UNAUTHORIZED and "reuse" in err.message
    # the thief's replay ended the family: the legitimate newest token is dead too
    assert (await svc.error(A.REFRESH, {"refreshToken": second["refreshToken"]})).error \
        is ErrorCode.UNAUTHORIZED
    assert await svc.revoked(second["accessToken"]) and await svc.revoked(first["accessToken"])
    # the other device is untouched
    assert not await svc.revoked(other["accessToken"])
    assert (await svc.call(A.REFRESH, {"refreshToken": other["refreshToken"]}))["accessToken"]
    err = await svc.error(A.REFRESH, {"refreshToken": "x" * 43})
    assert err.error is ErrorCode.UNAUTHORIZED


async def test_logout_takes_effect_at_once(svc):
    await svc.register("eve@example.com")
    by_cookie = await svc.login("eve@example.com")
    by_header = await svc.login("eve@example.com")
    assert await svc.call(A.LOGOUT, {"refreshToken": by_cookie["refreshToken"]}) == {"ok": True}
    assert await svc.revoked(by_cookie["accessToken"])
    assert (await svc.error(A.REFRESH, {"refreshToken": by_cookie["refreshToken"]})).error \
        is ErrorCode.UNAUTHORIZED
    assert not await svc.revoked(by_header["accessToken"])
    await svc.call(A.LOGOUT, {}, token=by_header["accessToken"])
    assert await svc.revoked(by_header["accessToken"])
    # idempotent, and saying nothing ends nothing
    assert await svc.call(A.LOGOUT, {"refreshToken": by_cookie["refreshToken"]}) == {"ok": True}
    assert await svc.call(A.LOGOUT, {}) == {"ok": True}


async def test_forgot_and_reset_password(svc):
    user = await svc.register("fay@example.com")
    a = await svc.login("fay@example.com")
    b = await svc.login("fay@example.com")

    async def timed(email):
        started = time.perf_counter()
        reply = await svc.call(A.FORGOT_PASSWORD, {"email": email})
        return reply, time.perf_counter() - started

    (known, t_known), (unknown, t_unknown) = await asyncio.gather(
        timed("fay@example.com"), timed("ghost@example.com"))
    assert known == unknown  # no account enumeration
    assert (await svc.error(A.FORGOT_PASSWORD, {"email": "nope"})).error \
        is ErrorCode.VALIDATION_ERROR
    floor = svc.settings.forgot_password_min_reply_s
    assert t_known >= floor and t_unknown >= floor
    assert abs(t_known - t_unknown) < 0.15

    event = await svc.event(user["id"], "password_reset_requested")
    assert event["resetUrl"].startswith("http://127.0.0.1:8080/reset-password?token=")
    token = _token(event["resetUrl"])
    err = await svc.error(A.RESET_PASSWORD, {"token": token, "password": "short"})
    assert err.error is ErrorCode.VALIDATION_ERROR
    reply = await svc.call(A.RESET_PASSWORD, {"token": token, "password": "New-password-2"})
    assert "reset" in reply["message"].lower()
    err = await svc.error(A.RESET_PASSWORD, {"token": token, "password": "Other-password-3"})
    assert err.error is ErrorCode.VALIDATION_ERROR  # single use

    # every session ended, at once and for refresh
    assert await svc.revoked(a["accessToken"]) and await svc.revoked(b["accessToken"])
    for pair in (a, b):
        err = await svc.error(A.REFRESH, {"refreshToken": pair["refreshToken"]})
        assert err.error is ErrorCode.UNAUTHORIZED
    assert (await svc.error(A.LOGIN, {"email": "fay@example.com", "password": PASSWORD})).error \
        is ErrorCode.UNAUTHORIZED
    fresh = await svc.login("fay@example.com", "New-password-2")
    assert fresh["user"]["emailVerified"] is True  # the mailed link proved the address
    changed = await svc.event(user["id"], "password_changed")
    assert changed["via"] == "reset"


async def test_change_password_signs_out_the_other_sessions(svc):
    await svc.register("gus@example.com")
    here = await svc.login("gus@example.com")
    there = await svc.login("gus@example.com")
    err = await svc.error(A.CHANGE_PASSWORD, {"currentPassword": "Wrong-pass-1",
                                              "newPassword": "Brand-new-pass-4"},
                          token=here["accessToken"])
    assert err.error is ErrorCode.VALIDATION_ERROR and err.details[0].field == "currentPassword"
    await svc.call(A.CHANGE_PASSWORD, {"currentPassword": PASSWORD,
                                       "newPassword": "Brand-new-pass-4"},
                   token=here["accessToken"])
    assert await svc.revoked(there["accessToken"]) and not await svc.revoked(here["accessToken"])
    assert (await svc.error(A.REFRESH, {"refreshToken": there["refreshToken"]})).error \
        is ErrorCode.UNAUTHORIZED
    assert (await svc.call(A.REFRESH, {"refreshToken": here["refreshToken"]}))["accessToken"]
    await svc.login("gus@example.com", "Brand-new-pass-4")
    assert (await svc.error(A.CHANGE_PASSWORD, {"currentPassword": PASSWORD,
                                                "newPassword": "Brand-new-pass-5"})).error \
        is ErrorCode.UNAUTHORIZED


async def test_failed_logins_are_throttled_per_account_and_per_ip(svc):
    await svc.register("hal@example.com")
    await svc.register("ida@example.com")
    bad = {"email": "hal@example.com", "password": "Wrong-pass-1"}
    for _ in range(svc.settings.login_max_failures_per_account):
        assert (await svc.error(A.LOGIN, bad, ip="198.51.100.1")).error is ErrorCode.UNAUTHORIZED
    # now even the right password waits, from any address
    err = await svc.error(A.LOGIN, {"email": "hal@example.com", "password": PASSWORD},
                          ip="198.51.100.2")
    assert err.error is ErrorCode.RATE_LIMITED and err.code == 429
    assert 0 < err.details["retryAfter"] <= svc.settings.login_failure_window_s

    # per IP: failures against many accounts from one address
    for i in range(svc.settings.login_max_failures_per_ip):
        await svc.error(A.LOGIN, {"email": f"x{i}@example.com", "password": "Wrong-pass-1"},
                        ip="198.51.100.9")
    err = await svc.error(A.LOGIN, {"email": "ida@example.com", "password": PASSWORD},
                          ip="198.51.100.9")
    assert err.error is ErrorCode.RATE_LIMITED
    assert (await svc.login("ida@example.com", ip=IP))["accessToken"]


async def test_preferences_merge_and_validate(svc):
    await svc.register("jon@example.com")
    access = (await svc.login("jon@example.com"))["accessToken"]
    prefs = await svc.call(A.GET_PREFERENCES, token=access)
    assert prefs["theme"] == "system" and prefs["timezone"] == "Asia/Kolkata"
    await svc.call(A.UPDATE_PREFERENCES, {"theme": "dark", "extra": {"chart": "candles"}},
                   token=access)
    prefs = await svc.call(A.UPDATE_PREFERENCES, {"smsNotifications": True}, token=access)
    assert (prefs["theme"], prefs["smsNotifications"], prefs["extra"]) == \
        ("dark", True, {"chart": "candles"})
    assert (await svc.call(A.GET_PREFERENCES, token=access)) == prefs
    err = await svc.error(A.UPDATE_PREFERENCES, {"timezone": "Mars/Olympus"}, token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR
    assert (await svc.error(A.GET_PREFERENCES)).error is ErrorCode.UNAUTHORIZED


async def test_parallel_guesses_cannot_outrun_the_throttle(svc):
    await svc.register("kai@example.com")
    bad = {"email": "kai@example.com", "password": "Wrong-pass-1"}
    errors = await asyncio.gather(*(svc.error(A.LOGIN, bad, ip=f"192.0.2.{i}") for i in range(10)))
    codes = [e.error for e in errors]
    assert codes.count(ErrorCode.UNAUTHORIZED) == svc.settings.login_max_failures_per_account
    assert codes.count(ErrorCode.RATE_LIMITED) == 10 - svc.settings.login_max_failures_per_account


async def test_links_with_tokens_never_travel_on_user_events(svc):
    """evt.<user>.> is pushed to browsers and readable with event credentials: the
    verification and reset links go to mail.<user>.> (stream MAIL, notify's only)."""
    import nats.js.errors

    user = await svc.call(A.REGISTER, {"email": "leak@example.com", "password": PASSWORD,
                                       "name": "Lee"})
    await svc.call(A.FORGOT_PASSWORD, {"email": "leak@example.com"})
    assert (await svc.event(user["id"], "password_reset_requested"))["resetUrl"]
    await svc.event(user["id"], "registered")  # the relay reached the EVENTS stream too
    js = svc.nc.jetstream()
    seen = []
    seq = 1
    while True:
        try:
            msg = await js.get_msg("EVENTS", seq)
        except nats.js.errors.NotFoundError:
            break
        seen.append((msg.subject, msg.data))
        seq += 1
    assert any(s == f"evt.{user['id']}.auth.registered" for s, _ in seen)
    for subject, data in seen:
        assert b"token=" not in data and b"verifyUrl" not in data and b"resetUrl" not in data, \
            subject
        assert not subject.endswith(("_verification_requested", "_reset_requested")), subject
    mail = await js.stream_info("MAIL")
    assert mail.state.messages >= 2  # both links wait there for notify

"""E-mail, SMS and webhook delivery on real local servers; preferences, quiet hours, outages."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from aiohttp import web
from contracts import auth as A
from contracts import notify as N
from notify.app import build_app
from notify.webhooks import SIGNATURE_HEADER, verify
from svckit.clock import FixedClock

from .conftest import base, eventually, free_port, make_settings, uid

SECRET = "a-very-secret-webhook-key"


async def register(bus, user: str, email: str = "asha@example.com") -> None:
    """Publish auth's sign-up event so notify learns the address."""
    await bus.publish(user, "auth", "registered", base(userId=user, email=email, name="Asha"))


def backtest_done(user: str, bt: str) -> dict:
    return base(backtestId=bt, userId=user, strategyId="s", strategyVersionId="v",
                totalTrades=2, netProfitPaise=1000)


async def statuses(rt, channel: str) -> list[str]:
    rows = await rt.pool.fetch("SELECT status FROM deliveries WHERE channel = $1 ORDER BY created_at",
                               channel)
    return [r["status"] for r in rows]


async def test_email_goes_over_smtp_with_text_html_and_link(app, bus, smtp):
    user = uid()
    await register(bus, user)
    await bus.publish(user, "backtest", "completed", backtest_done(user, "bt-9"))
    await eventually(lambda: smtp.capture.messages, what="a mail")
    msg = smtp.capture.messages[0]
    assert msg["To"] == "asha@example.com" and msg["Subject"] == "Backtest completed"
    assert "Hello Asha" in msg.get_body(preferencelist=("plain",)).get_content()
    assert "http://127.0.0.1:8080/backtests/bt-9" in msg.get_body(preferencelist=("html",)).get_content()
    assert await eventually(lambda: _all(app, "email", "sent"), what="sent status")


async def _all(rt, channel: str, status: str, n: int | None = None) -> bool:
    got = await statuses(rt, channel)
    return bool(got) and all(s == status for s in got) and (n is None or len(got) == n)


async def test_account_mails_always_go_and_never_show_in_the_app(app, bus, smtp):
    user = uid()
    await bus.call(user, N.UPDATE_PREFERENCES, {"channels": {"BACKTEST_COMPLETED": {"email": False}}})
    await bus.publish(user, "auth", "email_verification_requested", base(
        userId=user, email="new@example.com", name="Ravi",
        verifyUrl="http://127.0.0.1:8080/verify?token=abc", expiresAt="2026-01-01T00:00:00Z"))
    await eventually(lambda: smtp.capture.messages, what="the verification mail")
    msg = smtp.capture.messages[0]
    assert msg["To"] == "new@example.com" and "verify?token=abc" in msg.as_string()
    assert (await bus.call(user, N.LIST))["total"] == 0
    # the single-use link does not linger in notify's tables once the mail is out
    await eventually(lambda: _redacted(app), what="redaction")


async def _redacted(rt) -> bool:
    return await rt.pool.fetchval("SELECT bool_and(link IS NULL) FROM notifications") is True


async def test_preferences_switch_a_channel_off(app, bus, smtp):
    user = uid()
    await register(bus, user)
    prefs = await bus.call(user, N.UPDATE_PREFERENCES,
                           {"channels": {"BACKTEST_COMPLETED": {"email": False}}})
    assert prefs["channels"]["BACKTEST_COMPLETED"]["email"] is False
    assert prefs["channels"]["BACKTEST_FAILED"]["email"] is True
    assert (await bus.call(user, N.GET_PREFERENCES))["channels"]["BACKTEST_COMPLETED"] == \
        {"in_app": True, "email": False, "sms": False, "webhook": True}
    await bus.publish(user, "backtest", "completed", backtest_done(user, "b1"))
    await bus.publish(user, "backtest", "failed", base(backtestId="b2", userId=user,
                                                       strategyId="s", strategyVersionId="v",
                                                       reason="boom"))
    await eventually(lambda: smtp.capture.messages, what="the failure mail")
    assert (await bus.call(user, N.LIST))["total"] == 2
    assert [m["Subject"] for m in smtp.capture.messages] == ["Backtest failed"]
    assert await app.pool.fetchval("SELECT count(*) FROM deliveries WHERE channel = 'email'") == 1
    # in-app off: still mailed, never listed
    await bus.call(user, N.UPDATE_PREFERENCES,
                   {"channels": {"NEW_LOGIN": {"inApp": False, "email": True}}})
    await bus.publish(user, "auth", "new_login", base(userId=user, ip="203.0.113.9"))
    await eventually(lambda: len(smtp.capture.messages) == 2, what="the sign-in mail")
    assert (await bus.call(user, N.LIST))["total"] == 2


async def test_quiet_hours_hold_routine_mail_but_not_critical(nats_url, pg_service_dsn, smtp, bus):
    settings = make_settings(nats_url, pg_service_dsn("notify"), smtp.port)
    clock = FixedClock(datetime(2026, 1, 5, 17, 30, tzinfo=UTC))  # 23:00 IST
    async with build_app(settings, clock=clock) as rt:
        user = uid()
        await register(bus, user)
        await bus.call(user, N.UPDATE_PREFERENCES,
                       {"quietHours": {"enabled": True, "start": "22:00", "end": "07:00"}})
        await bus.publish(user, "backtest", "failed", base(backtestId="b", userId=user,
                                                           strategyId="s", strategyVersionId="v",
                                                           reason="quiet please"))
        await bus.publish(user, "killswitch", "activated", base(userId=user, reason="panic"))
        await eventually(lambda: smtp.capture.messages, what="the kill-switch mail")
        assert [m["Subject"] for m in smtp.capture.messages] == ["Kill switch activated"]
        held = await rt.pool.fetchrow(
            "SELECT d.status, d.next_attempt_at - now() AS wait FROM deliveries d JOIN notifications"
            " n ON n.id = d.notification_id WHERE n.type = 'BACKTEST_FAILED' AND d.channel = 'email'")
        assert held["status"] == "pending" and 7.9 * 3600 < held["wait"].total_seconds() <= 8 * 3600
        assert (await bus.call(user, N.UNREAD_COUNT))["count"] == 2  # in-app is never held


async def test_smtp_outage_delays_but_delivers_everything_exactly_once(app, bus, smtp):
    user = uid()
    await register(bus, user)
    await eventually(lambda: app.pool.fetchval("SELECT count(*) FROM contacts"), what="contact")
    smtp.stop()
    for i in range(3):
        await bus.publish(user, "backtest", "completed", backtest_done(user, f"out-{i}"))

    async def retried() -> bool:
        rows = await app.pool.fetch("SELECT status, attempts FROM deliveries WHERE channel = 'email'")
        return len(rows) == 3 and all(r["status"] == "failed" and r["attempts"] >= 2 for r in rows)

    await eventually(retried, what="failed attempts during the outage")
    smtp.start()
    await eventually(lambda: _all(app, "email", "sent", 3), what="all sent after recovery")
    links = sorted(m.get_body(preferencelist=("plain",)).get_content().split("Open: ")[1].split()[0]
                   for m in smtp.capture.messages)
    assert links == [f"http://127.0.0.1:8080/backtests/out-{i}" for i in range(3)]


async def test_dead_letters_are_listed_and_replayed_by_an_admin(nats_url, pg_service_dsn, smtp, bus):
    settings = make_settings(nats_url, pg_service_dsn("notify"), smtp.port, max_attempts=2)
    async with build_app(settings) as rt:
        user, admin = uid(), uid()
        await register(bus, user)
        await eventually(lambda: rt.pool.fetchval("SELECT count(*) FROM contacts"), what="contact")
        smtp.stop()
        await bus.publish(user, "backtest", "completed", backtest_done(user, "dead-1"))
        await eventually(lambda: _all(rt, "email", "dead"), what="a dead letter")
        assert (await bus.error(user, N.ADMIN_DEAD_LETTERS)).code == 403
        page = await bus.call(admin, N.ADMIN_DEAD_LETTERS, {"channel": "email"}, role="admin")
        assert page["total"] == 1 and page["items"][0]["userId"] == user
        assert page["items"][0]["attempts"] == 2 and page["items"][0]["lastError"]
        smtp.start()
        replayed = await bus.call(admin, N.ADMIN_REPLAY, {"ids": [page["items"][0]["id"]]},
                                  role="admin")
        assert replayed["replayed"] == 1
        await eventually(lambda: _all(rt, "email", "sent"), what="replayed mail sent")
        assert len(smtp.capture.messages) == 1


@pytest.fixture
async def receiver():
    """A local HTTP endpoint that records what it receives (webhooks and SMS)."""
    got: list[tuple[dict, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.post("/hook", hook), web.post("/sms", hook)])
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", got
    await runner.cleanup()


async def test_webhook_post_is_signed_and_verifiable(nats_url, pg_service_dsn, smtp, bus, receiver):
    url, got = receiver
    settings = make_settings(nats_url, pg_service_dsn("notify"), smtp.port,
                             webhook_allow_private=True)
    async with build_app(settings):
        user = uid()
        hook = await bus.call(user, N.CREATE_WEBHOOK, {"url": url + "/hook", "secret": SECRET,
                                                       "types": ["ORDER_FILLED"]})
        assert hook["secret"] == SECRET
        assert (await bus.call(user, N.LIST_WEBHOOKS))["items"][0]["secret"] is None
        assert (await bus.call(user, N.TEST_WEBHOOK, {"id": hook["id"]}))["status"] == 204
        await bus.publish(user, "order", "placed", base(orderId="p1"))  # not subscribed
        await bus.publish(user, "order", "filled", base(orderId="f1", averagePrice=100))
        await eventually(lambda: len(got) == 2, what="test + filled deliveries")
        for headers, body in got:
            assert verify(SECRET, headers[SIGNATURE_HEADER], body, now=int(time.time()))
        payload = json.loads(got[1][1])
        assert payload["type"] == "ORDER_FILLED" and payload["link"].endswith("/orders/f1")
        assert (await bus.error(uid(), N.DELETE_WEBHOOK, {"id": hook["id"]})).code == 404
        await bus.call(user, N.DELETE_WEBHOOK, {"id": hook["id"]})
        assert (await bus.call(user, N.LIST_WEBHOOKS))["items"] == []


async def test_webhooks_to_private_addresses_are_refused_by_default(app, bus, receiver):
    url, got = receiver
    user = uid()
    for target in (url + "/hook", "http://10.0.0.8/x", "http://[::1]/x", "ftp://example.com/x",
                   "http://169.254.169.254/latest/meta-data"):
        err = await bus.error(user, N.CREATE_WEBHOOK, {"url": target, "secret": SECRET})
        assert err.code == 400 and err.details[0].field == "url"
    assert got == []


async def test_sms_goes_through_the_generic_http_provider(nats_url, pg_service_dsn, smtp, bus,
                                                          receiver):
    url, got = receiver
    settings = make_settings(nats_url, pg_service_dsn("notify"), smtp.port, sms_url=url + "/sms",
                             sms_auth_header="Bearer sms-token-123")
    async with build_app(settings):
        user = uid()
        await bus.call(user, N.UPDATE_PREFERENCES, {"phone": "+919812345678"})
        await bus.publish(user, "account", "reauth_required", base(
            userId=user, accountId="acc-1", broker="dhan", status="reauth_required"))
        await eventually(lambda: got, what="an SMS")
        headers, body = got[0]
        sms = json.loads(body)
        assert headers["Authorization"] == "Bearer sms-token-123"
        assert sms["to"] == "+919812345678" and "Broker login needed" in sms["message"]


async def test_old_history_makes_no_notification_on_a_first_start(app, bus):
    user = uid()
    old = base(orderId="old")
    old["tsInit"] = "2020-01-01T00:00:00+00:00"
    await bus.publish(user, "order", "placed", old)
    await bus.publish(user, "order", "placed", base(orderId="new"))
    page = await eventually(lambda: _listed(bus, user), what="the new notification")
    assert [n["link"] for n in page["items"]] == ["/orders/new"]


async def _listed(bus, user):
    page = await bus.call(user, N.LIST)
    return page if page["total"] else None


async def test_address_comes_from_auth_when_no_event_taught_it(app, bus, nc, smtp):
    user = uid()

    async def profile(msg):
        assert msg.headers["x-user-id"] == user
        await msg.respond(b'{"id": "%s", "email": "late@example.com", "name": "Late"}' % user.encode())

    await nc.subscribe(A.GET_PROFILE, cb=profile)
    await nc.flush()
    await bus.publish(user, "auth", "password_changed", base(userId=user, via="change"))
    await eventually(lambda: smtp.capture.messages, what="the mail")
    assert smtp.capture.messages[0]["To"] == "late@example.com"

"""Pure rules: the event table, preferences and quiet hours, backoff, signatures, templates."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from contracts.notify import Channel as C
from contracts.notify import NotificationType as T
from notify.catalog import CATALOG, draft_for, rupees
from notify.channels import HttpSmsProvider, render_email
from notify.delivery import backoff_s
from notify.prefs import UserPrefs, channels_for, hold_until, merge_overrides, quiet_until
from notify.settings import NotifySettings
from notify.webhooks import (
    GuardedResolver,
    UnsafeTarget,
    WebhookSender,
    address_allowed,
    check_scheme,
    sign,
    verify,
)

IST_2300 = datetime(2026, 1, 5, 17, 30, tzinfo=UTC)  # 23:00 IST
IST_1200 = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)  # 12:00 IST


@pytest.mark.parametrize(("kind", "event", "expected", "link"), [
    ("order.placed", {"orderId": "o1"}, T.ORDER_PLACED, "/orders/o1"),
    ("order.filled", {"orderId": "o1", "averagePrice": 123456}, T.ORDER_FILLED, "/orders/o1"),
    ("order.rejected", {"orderId": "o2", "reason": "RMS: price band"}, T.ORDER_FAILED, "/orders/o2"),
    ("order.rejected", {"orderId": "o3", "reason": "Insufficient margin"}, T.MARGIN_WARNING,
     "/orders/o3"),
    ("deployment.started", {"deploymentId": "d1"}, T.STRATEGY_DEPLOYED, "/deployments/d1"),
    ("deployment.paused", {"deploymentId": "d1"}, T.STRATEGY_PAUSED, "/deployments/d1"),
    ("deployment.entries_paused", {"deploymentId": "d1", "reason": "feed stale for 40s"},
     T.FEED_STALE, "/deployments/d1"),
    ("signal.generated", {"deploymentId": "d1", "action": "stop_loss", "price": 9900},
     T.STOP_LOSS_TRIGGERED, "/deployments/d1"),
    ("signal.generated", {"deploymentId": "d1", "action": "target"}, T.PROFIT_TARGET_REACHED,
     "/deployments/d1"),
    ("signal.generated", {"action": "kill_switch"}, T.KILL_SWITCH_ACTIVATED, "/deployments"),
    ("account.reauth_required", {"accountId": "a1"}, T.REAUTH_REQUIRED, "/settings/brokerages"),
    ("account.connection_lost", {"accountId": "a1"}, T.API_CONNECTION_LOST, "/settings/brokerages"),
    ("backtest.completed", {"backtestId": "b1", "totalTrades": 3}, T.BACKTEST_COMPLETED,
     "/backtests/b1"),
    ("backtest.failed", {"backtestId": "b1", "reason": "no data"}, T.BACKTEST_FAILED, "/backtests/b1"),
    ("auth.new_login", {"ip": "1.2.3.4"}, T.NEW_LOGIN, "/settings/security"),
    ("auth.password_changed", {"via": "reset"}, T.PASSWORD_CHANGED, "/settings/security"),
    ("auth.email_verification_requested", {"verifyUrl": "https://x/v?t=1"}, T.EMAIL_VERIFICATION,
     "https://x/v?t=1"),
    ("auth.password_reset_requested", {"resetUrl": "https://x/r?t=1"}, T.PASSWORD_RESET,
     "https://x/r?t=1"),
])
def test_every_kind_maps_to_its_type_and_link(kind, event, expected, link):
    draft = draft_for(kind, {**event, "unknownFutureField": [1, 2]})
    assert draft is not None and draft.type is expected and draft.link == link
    assert draft.title and draft.message


def test_uninteresting_and_unknown_events_are_skipped():
    assert draft_for("signal.generated", {"action": "entry"}) is None
    assert draft_for("signal.refused", {"reasons": ["max_positions: 1 open"]}) is None
    assert draft_for("order.cancelled", {}) is None
    assert draft_for("whatever.happened", {}) is None
    assert draft_for("deployment.stopped", {"reason": "kill switch"}) is None
    assert "notification.created" not in CATALOG


def test_failures_group_by_deployment_and_reason():
    a = draft_for("order.failed", {"orderId": "1", "deploymentId": "d", "reason": "timeout"})
    b = draft_for("order.failed", {"orderId": "2", "deploymentId": "d", "reason": "timeout"})
    c = draft_for("order.failed", {"orderId": "3", "deploymentId": "d", "reason": "other"})
    assert a.group_key == b.group_key != c.group_key


def test_rupees_formats_paise():
    assert rupees(12345678) == "₹123,456.78" and rupees(-5) == "-₹0.05" and rupees(None) == "-"


def test_defaults_and_overrides():
    p = UserPrefs()
    assert channels_for(p, T.ORDER_PLACED)[C.EMAIL] is False
    assert channels_for(p, T.ORDER_FAILED)[C.EMAIL] is True
    assert channels_for(p, T.KILL_SWITCH_ACTIVATED)[C.SMS] is True
    p2 = UserPrefs(overrides=merge_overrides({}, {T.ORDER_FAILED: {"email": False, "sms": None}}))
    assert channels_for(p2, T.ORDER_FAILED)[C.EMAIL] is False
    # account mails ignore preferences: always e-mail, never in-app
    p3 = UserPrefs(overrides={"EMAIL_VERIFICATION": {"email": False}})
    assert channels_for(p3, T.EMAIL_VERIFICATION) == {C.IN_APP: False, C.EMAIL: True,
                                                       C.SMS: False, C.WEBHOOK: False}


def test_quiet_hours_overnight_in_ist():
    p = UserPrefs(quiet_enabled=True, quiet_start="22:00", quiet_end="07:00")
    until = quiet_until(p, IST_2300)
    assert until == datetime(2026, 1, 6, 1, 30, tzinfo=UTC)  # 07:00 IST next morning
    assert quiet_until(p, datetime(2026, 1, 5, 23, 0, tzinfo=UTC)) == until  # 04:30 IST
    assert quiet_until(p, IST_1200) is None
    assert quiet_until(UserPrefs(), IST_2300) is None
    assert hold_until(p, T.ORDER_FAILED, C.EMAIL, IST_2300) == until
    assert hold_until(p, T.KILL_SWITCH_ACTIVATED, C.EMAIL, IST_2300) is None
    assert hold_until(p, T.REAUTH_REQUIRED, C.SMS, IST_2300) is None
    assert hold_until(p, T.ORDER_FAILED, C.IN_APP, IST_2300) is None


def test_quiet_hours_daytime_window():
    p = UserPrefs(quiet_enabled=True, quiet_start="09:00", quiet_end="15:30")
    assert quiet_until(p, IST_1200) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert quiet_until(p, IST_2300) is None


def test_backoff_grows_and_caps():
    rng = random.Random(1)
    delays = [backoff_s(n, 5, 300, rng) for n in range(1, 12)]
    assert 4 <= delays[0] <= 6 and all(d <= 360 for d in delays) and delays[8] >= 240
    # twelve attempts outlast a ten-minute outage
    assert sum(backoff_s(n, 5, 300, random.Random(0)) for n in range(1, 12)) > 600


def test_signature_verifies_and_detects_tampering():
    body = b'{"a":1}'
    header = sign("s3cret-s3cret-s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_010)
    assert not verify("s3cret-s3cret-s3cret", header, b'{"a":2}', now=1_700_000_010)
    assert not verify("other-secret-other", header, body, now=1_700_000_010)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=1_700_009_999)


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5",
                                  "169.254.169.254", "::1", "fe80::1", "fc00::1", "224.0.0.1",
                                  "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1"])
def test_private_addresses_are_refused(addr):
    assert not address_allowed(addr, allow_private=False)


def test_public_addresses_and_operator_override():
    assert address_allowed("8.8.8.8", allow_private=False)
    assert address_allowed("2606:4700:4700::1111", allow_private=False)
    assert address_allowed("127.0.0.1", allow_private=True)
    assert not address_allowed("224.0.0.1", allow_private=True)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:x",
                                 "http://user:pw@example.com/", "https:///nohost"])
def test_only_plain_http_urls(url):
    with pytest.raises(UnsafeTarget):
        check_scheme(url)


def test_email_escapes_html_and_links_into_the_app():
    s = NotifySettings(app_base_url="https://app.example")
    n = {"type": "ORDER_FAILED", "title": "Order <b>failed</b>", "message": "x < y & \"z\"",
         "count": 3, "link": "/orders/o1"}
    msg = render_email(s, "a@b.c", "Asha", n, "d1")
    html = msg.get_body(preferencelist=("html",)).get_content()
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "&lt;b&gt;failed&lt;/b&gt;" in html and "<b>failed" not in html
    assert "https://app.example/orders/o1" in html and "https://app.example/orders/o1" in text
    assert "x < y" in text and "3 times" in text and msg["Subject"] == "Order <b>failed</b> (x3)"


def test_sms_body_template_escapes_json():
    s = NotifySettings(sms_url="http://sms.local/send",
                       sms_body_template='{"to": "$to", "text": "$message"}')
    body = HttpSmsProvider(s).body("+919800000000", 'say "hi"\nnow')
    import json
    assert json.loads(body) == {"to": "+919800000000", "text": 'say "hi"\nnow'}


async def test_send_time_check_refuses_private_targets_even_if_registered_earlier():
    sender = WebhookSender(allow_private=False)
    try:
        for url in ("http://127.0.0.1:9/x", "http://localhost:9/x"):
            with pytest.raises(UnsafeTarget):
                await sender.post(url, "k" * 20, {}, event="T", delivery_id="d", now=0)
    finally:
        await sender.close()


async def test_the_http_client_resolver_drops_private_answers():
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(OSError):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    allowed = GuardedResolver(allow_private=True)
    try:
        assert await allowed.resolve("localhost", 80)
    finally:
        await allowed.close()

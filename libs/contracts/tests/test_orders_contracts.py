"""Order and brokerage contracts: subjects, intent ids, camelCase wire, no credential leaks."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contracts import brokerage as b
from contracts import orders as o
from contracts import subjects
from contracts.events import decode, encode, new_event_fields
from contracts.events import orders as ev
from pydantic import ValidationError


def test_request_subjects_are_under_the_brokerage_service():
    names = [b.LINK_ACCOUNT, b.PORTFOLIO_SUMMARY, b.KILL_SWITCH, o.PLACE_ORDER, o.LIST_TRADES]
    assert all(s.startswith("svc.brokerage.") and s.count(".") == 3 for s in names)
    assert len(set(names)) == len(names)


def test_intent_ids_are_deterministic_and_fit_dhans_correlation_id():
    a = o.make_intent_id("dep-1", "2025-07-23T09:20:00Z", "entry")
    assert a == o.make_intent_id("dep-1", "2025-07-23T09:20:00Z", "entry")
    assert a != o.make_intent_id("dep-1", "2025-07-23T09:25:00Z", "entry")
    assert len(a) <= 25
    subjects.token(a)


def test_intent_ids_are_base32_of_the_sha256_of_the_parts():
    # the ids of intents already sent must never change: the spelled-out base32 is RFC 4648's
    for parts in [("dep-1", "2025-07-23T09:20:00Z", "entry"), ("manual", "u", "a", "k"), ("",)]:
        digest = hashlib.sha256("|".join(parts).encode()).digest()
        want = "i" + base64.b32encode(digest[:15]).decode().lower()
        assert o.make_intent_id(*parts) == want
    assert o.make_intent_id("dep-1", "2025-07-23T09:20:00Z", "entry") \
        == "iatzzuvlls7rm7b6piqesc2yi"


def test_intent_round_trips_in_camel_case_with_paise():
    now = datetime(2025, 7, 23, 4, 0, tzinfo=UTC)
    intent = ev.OrderIntent(**new_event_fields(now, now), intent_id="ix", user_id="u1",
                            account_id="a1", security_id="2885", exchange_segment="NSE_EQ",
                            transaction_type="BUY", quantity=1, order_type="LIMIT",
                            product_type="INTRADAY", price=141_050)
    raw = encode(intent)
    assert b'"intentId":"ix"' in raw and b'"price":141050' in raw
    back = decode(raw, ev.OrderIntent)
    assert back == intent
    assert ev.intent_age_s(back, now + timedelta(seconds=5)) == 5


def test_order_events_have_names_for_subjects():
    assert set(ev.ORDER_EVENT_NAMES.values()) == {
        "placed", "accepted", "partially_filled", "filled", "cancelled", "rejected",
        "expired", "failed", "stale"}
    assert set(ev.ACCOUNT_EVENT_NAMES.values()) == {
        "linked", "unlinked", "reauth_required", "connection_lost"}


def test_limit_orders_need_a_price_and_stops_a_trigger():
    base = {"accountId": "a1", "securityId": "2885", "exchangeSegment": "NSE_EQ",
            "transactionType": "BUY", "quantity": 1, "productType": "INTRADAY"}
    with pytest.raises(ValidationError):
        o.PlaceOrder.model_validate({**base, "orderType": "LIMIT"})
    with pytest.raises(ValidationError):
        o.PlaceOrder.model_validate({**base, "orderType": "STOP_LOSS_MARKET"})
    ok = o.PlaceOrder.model_validate({**base, "orderType": "LIMIT", "price": "1410.5"})
    assert ok.price == Decimal("1410.5")


def test_credentials_never_appear_in_reprs_or_replies():
    link = b.LinkAccount.model_validate({"broker": "dhan", "dhanClientId": "1100000001",
                                         "accessToken": "eyJ.secret.token"})
    assert "eyJ.secret.token" not in repr(link)
    assert not any("token" in f.lower() and "expires" not in f.lower()
                   for f in b.Account.model_fields)
    with pytest.raises(ValidationError):
        b.LinkAccount.model_validate({"broker": "paper", "accessToken": "x"})

"""Pure unit tests: crypto, the order state machine, charges, parsing of recorded payloads,
error groups, pacing, breaker, fill rules and tick decoding (no servers)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from brokerage.adapters.base import (
    BrokerAuthFailed,
    BrokerRejected,
    BrokerRetryable,
    BrokerUnknownOutcome,
    OrderRequest,
)
from brokerage.adapters.dhan import parsing as p
from brokerage.adapters.dhan.errors import classify
from brokerage.adapters.paper.charges import charges
from brokerage.adapters.paper.matching import Quote, evaluate, protected_limit
from brokerage.adapters.resilience import CircuitBreaker, CircuitOpen, Pacer, backoff
from brokerage.crypto import CredentialError, KeyRing, associated_data
from brokerage.domain import OrderState, apply_update, can_resend, is_stale, to_paise
from brokerage.ticks import decode_tick
from contracts.events import orders as ev
from contracts.orders import OrderStatus as S

RES = Path(__file__).parent / "resources"


def load(name: str):
    return json.loads((RES / name).read_text())


# --- envelope encryption -------------------------------------------------------------------

def test_credentials_round_trip_and_are_bound_to_owner_and_account():
    ring = KeyRing.parse(KeyRing.generate("k1"))
    aad = associated_data("u1", "a1")
    blob = ring.seal({"accessToken": "eyJ.secret"}, aad)
    assert b"eyJ.secret" not in blob and KeyRing.key_id(blob) == "k1"
    assert ring.open(blob, aad) == {"accessToken": "eyJ.secret"}
    for other in (associated_data("u2", "a1"), associated_data("u1", "a2")):
        with pytest.raises(CredentialError):
            ring.open(blob, other)
    tampered = json.loads(blob)
    tampered["ct"] = tampered["ct"][:-4] + ("AAAA" if tampered["ct"][-4:] != "AAAA" else "BBBB")
    with pytest.raises(CredentialError):
        ring.open(json.dumps(tampered).encode(), aad)


def test_rotation_rewraps_under_the_new_key_and_old_keys_still_open():
    old = KeyRing.generate("k1")
    ring1 = KeyRing.parse(old)
    aad = associated_data("u1", "a1")
    blob = ring1.seal({"apiSecret": "s3cret"}, aad)
    ring2 = KeyRing.parse(KeyRing.generate("k2") + "," + old)
    assert ring2.open(blob, aad) == {"apiSecret": "s3cret"}
    moved = ring2.rewrap(blob, aad)
    assert KeyRing.key_id(moved) == "k2" and ring2.rewrap(moved, aad) is None
    assert KeyRing.parse(KeyRing.generate("k3") + "," + old).open(blob, aad)
    with pytest.raises(CredentialError):
        ring1.open(moved, aad)
    with pytest.raises(ValueError):
        KeyRing.parse("k1:c2hvcnQ=")


# --- order state machine -------------------------------------------------------------------

def test_state_machine_walks_placed_accepted_partial_filled():
    s = OrderState(S.SENDING, 10)
    t = apply_update(s, "TRANSIT", 0, None)
    assert t.status is S.PLACED and t.event is ev.OrderPlaced
    s = OrderState(t.status, 10)
    t = apply_update(s, "PENDING", 0, None)
    assert t.status is S.ACCEPTED and t.event is ev.OrderAccepted
    s = OrderState(t.status, 10)
    t = apply_update(s, "PART_TRADED", 4, Decimal(100))
    assert (t.status, t.filled, t.last_fill_quantity) == (S.PARTIALLY_FILLED, 4, 4)
    s = OrderState(t.status, 10, 4, Decimal(100))
    assert apply_update(s, "PART_TRADED", 4, Decimal(100)) is None  # a repeat changes nothing
    t = apply_update(s, "TRADED", 10, Decimal("100.6"))
    assert (t.status, t.filled, t.last_fill_quantity, t.event) == (S.FILLED, 10, 6, ev.OrderFilled)


def test_state_machine_never_goes_back_and_terminal_is_final():
    assert apply_update(OrderState(S.ACCEPTED, 5), "TRANSIT", 0, None) is None
    assert apply_update(OrderState(S.FILLED, 5, 5), "CANCELLED", 5, None) is None
    t = apply_update(OrderState(S.PARTIALLY_FILLED, 5, 2), "CANCELLED", 2, None, "user")
    assert t.status is S.CANCELLED and t.reason == "user" and t.filled == 2
    t = apply_update(OrderState(S.PLACED, 5), "REJECTED", 0, None, "RMS: no funds")
    assert t.event is ev.OrderRejected and t.reason == "RMS: no funds"
    t = apply_update(OrderState(S.ACCEPTED, 5), "PENDING", 3, Decimal(10))  # fill seen late
    assert t.status is S.PARTIALLY_FILLED and t.filled == 3
    assert apply_update(OrderState(S.ACCEPTED, 5), "SOMETHING_NEW", 0, None) is None
    assert apply_update(OrderState(S.SENDING, 5), "Cancelled", 0, None).status is S.CANCELLED


def test_staleness_resend_rule_and_paise():
    now = datetime(2025, 7, 23, 4, 0, tzinfo=UTC)
    assert is_stale(now - timedelta(seconds=31), now, 30)
    assert not is_stale(now - timedelta(seconds=29), now, 30)
    assert can_resend(0.1, 20, answered=True)
    assert not can_resend(0.1, 20, answered=False)
    assert can_resend(25, 20, answered=False) and can_resend(None, 20, answered=False)
    assert to_paise(Decimal("1410.505")) == 141050 and to_paise(None) is None


# --- charges (market/INDIA.md) -------------------------------------------------------------

def test_charges_follow_india_md():
    day = date(2025, 7, 23)
    assert charges(segment="NSE_EQ", product="INTRADAY", side="BUY", quantity=10,
                   price=Decimal("1410.6"), on=day) == Decimal("5.52")
    assert charges(segment="NSE_EQ", product="CNC", side="BUY", quantity=100,
                   price=Decimal(1000), on=day) == Decimal("118.72")
    intraday_sell = charges(segment="NSE_EQ", product="INTRADAY", side="SELL", quantity=100,
                            price=Decimal(1000), on=day)
    # brokerage 20 + STT 25 + txn 2.97 + SEBI 0.1 + IPFT 0.1 + GST 18% of 23.07
    assert intraday_sell == Decimal("52.32")
    fut_old = charges(segment="NSE_FNO", product="MARGIN", side="SELL", quantity=75,
                      price=Decimal(24000), on=day)
    fut_new = charges(segment="NSE_FNO", product="MARGIN", side="SELL", quantity=75,
                      price=Decimal(24000), on=date(2026, 4, 1))
    assert fut_new - fut_old == Decimal(540)  # STT 0.02% -> 0.05% of 18 lakh


# --- parsing recorded payloads -------------------------------------------------------------

def test_parse_recorded_order_book_trades_positions_funds_profile():
    [order] = [p.parse_order(d) for d in load("order_book.json")]
    assert (order.broker_order_id, order.status, order.correlation_id) == (
        "112111182198", "TRADED", "strat1-0001")
    assert order.filled_quantity == 5 and order.average_price == Decimal("3410.5")
    assert order.updated_at == datetime(2025, 1, 15, 5, 0, 5, tzinfo=UTC)
    assert p.parse_order_reply([]) is None and p.parse_order_reply(load("order_book.json"))
    [trade] = [p.parse_trade(d) for d in load("trade_book.json")]
    assert trade.quantity == 40 and trade.price == Decimal("3345.8")
    assert trade.broker_trade_id == "15112111182045"
    [pos] = [p.parse_position(d) for d in load("positions.json")]
    assert pos.net_quantity == 40 and pos.unrealized_pnl == Decimal(6122)
    funds = p.parse_funds(load("fundlimit.json"))
    assert funds.available == Decimal(98440) and funds.used_margin == Decimal(15202)
    profile = p.parse_profile(load("profile.json"))
    assert p.token_validity(profile.token_validity) == datetime(2025, 3, 30, 10, 7, tzinfo=UTC)


def test_parse_recorded_order_alert_case_insensitively_and_concatenated():
    alert = p.parse_alert(load("order_alert.json"))
    assert (alert.broker_order_id, alert.status, alert.exchange_segment) == (
        "1124091136546", "CANCELLED", "NSE_EQ")
    assert alert.transaction_type == "BUY" and alert.reason == "CONFIRMED"
    raw = json.dumps(load("order_alert.json"), separators=(",", ":"))
    shouty = raw.replace('"Status":"Cancelled"', '"status":"PART_TRADED"').replace(
        '"TradedQty":0', '"TradedQty":"1"')
    frames = p.split_frames(raw + shouty)
    assert len(frames) == 2
    part = p.parse_alert(frames[1])
    assert part.status == "PART_TRADED" and part.filled_quantity == 1
    assert p.parse_alert({"Type": "login", "Data": {}}) is None


def test_place_body_omits_unused_fields_and_never_sends_empty_strings():
    body = p.place_body(OrderRequest("c1", "2885", "NSE_EQ", "BUY", 3, "MARKET", "INTRADAY"),
                        "1100000001")
    assert body["price"] == 0.0 and "triggerPrice" not in body and "" not in body.values()
    stop = p.place_body(OrderRequest("c2", "2885", "NSE_EQ", "SELL", 3, "STOP_LOSS", "CNC",
                                     price=Decimal("1400.5"), trigger_price=Decimal(1401)),
                        "1100000001")
    assert stop["price"] == 1400.5 and stop["triggerPrice"] == 1401.0
    assert stop["correlationId"] == "c2" and stop["dhanClientId"] == "1100000001"


@pytest.mark.parametrize("case", load("errors.json"), ids=lambda c: f"{c['status']}-{c['group']}")
def test_errors_fall_into_named_groups(case):
    err = classify(case["status"], case["body"], idempotent=False)
    expected = {"auth": BrokerAuthFailed, "retryable": BrokerRetryable,
                "unknown": BrokerUnknownOutcome, "rejected": BrokerRejected}[case["group"]]
    assert type(err) is expected
    if case["group"] == "unknown":
        assert isinstance(classify(case["status"], case["body"], idempotent=True),
                          BrokerRetryable)


# --- resilience ----------------------------------------------------------------------------

def test_breaker_opens_probes_once_and_closes():
    now = [0.0]
    b = CircuitBreaker(failures=3, cooldown_s=10, now=lambda: now[0])
    assert not b.failure() and not b.failure() and b.failure()
    assert b.state == "open"
    with pytest.raises(CircuitOpen):
        b.before()
    now[0] = 10.0
    b.before()  # the one probe
    with pytest.raises(CircuitOpen):
        b.before()
    b.success()
    assert b.state == "closed"


def test_backoff_has_full_jitter_under_a_cap():
    assert backoff(0, 0.2, 3.0, rng=lambda: 1.0) == 0.2
    assert backoff(10, 0.2, 3.0, rng=lambda: 1.0) == 3.0
    assert backoff(3, 0.2, 3.0, rng=lambda: 0.0) == 0.0


async def test_pacer_spaces_calls_to_the_window():
    pacer = Pacer({"order": [(3, 0.2)]})
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(7):
        await pacer.acquire("order")
    assert loop.time() - start >= 0.4
    off = Pacer({"order": [(1, 10.0)]}, enabled=False)
    for _ in range(5):
        await off.acquire("order")


# --- fill rules and ticks ------------------------------------------------------------------

def test_fill_rules_match_the_simulator():
    q = Quote(ltp=Decimal(100), bid=Decimal("99.9"), ask=Decimal("100.1"), ask_qty=4)
    assert protected_limit("BUY", q) == Decimal("101.10")  # touch + 1% (100-500 band)
    f = evaluate("BUY", "MARKET", None, None, False, 10, q)
    assert (f.quantity, f.price) == (4, Decimal("100.1"))
    assert evaluate("BUY", "LIMIT", Decimal(100), None, False, 10, q).quantity == 0
    assert evaluate("SELL", "LIMIT", Decimal("99.9"), None, False, 10, q).quantity == 10
    waiting = evaluate("BUY", "STOP_LOSS", Decimal(101), Decimal("100.5"), False, 1, q)
    assert waiting.quantity == 0 and not waiting.triggered
    up = Quote(ltp=Decimal("100.5"), bid=Decimal("100.4"), ask=Decimal("100.6"))
    fired = evaluate("BUY", "STOP_LOSS", Decimal(101), Decimal("100.5"), False, 1, up)
    assert fired.triggered and fired.price == Decimal("100.6")


def test_ticks_decode_paise_and_rupees():
    q = decode_tick(b'{"segment":"NSE_EQ","securityId":"2885","ltp":141050,"bid":141040,'
                    b'"bidQty":7,"ltt":"2025-07-23T04:00:00Z"}')
    assert q.ltp == Decimal("1410.50") and q.bid == Decimal("1410.40") and q.bid_qty == 7
    assert decode_tick(b'{"ltp":"1410.5"}').ltp == Decimal("1410.5")
    assert decode_tick(b'{"bid":1}') is None and decode_tick(b"nope") is None

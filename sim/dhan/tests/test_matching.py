"""Pure fill rules: protection band, triggers, limit crossing and partial fills."""

from __future__ import annotations

from dataclasses import replace

from dhansim.matching import evaluate, match, mpp_percent, protected_limit

from .test_packets import snap

S = snap()  # bid 1402.30 x 100, ask 1402.40 x 90, ltp 1402.35


def test_market_orders_become_limits_inside_the_protection_band():
    assert mpp_percent(False, 1402.4) == 0.005
    assert mpp_percent(True, 50.0) == 0.03
    assert protected_limit("BUY", S) == round(round(1402.4 * 1.005 / 0.1) * 0.1, 2)
    assert protected_limit("SELL", S) < S.bid


def test_limit_fills_at_the_touch_only_when_crossed():
    assert match("BUY", 1402.0, 10, 1, S) == (0, 0.0)
    assert match("BUY", 1403.0, 10, 1, S) == (10, 1402.4)
    assert match("SELL", 1402.3, 10, 1, S) == (10, 1402.3)
    assert match("SELL", 1402.5, 10, 1, S) == (0, 0.0)


def test_large_orders_fill_partially_up_to_the_touch_quantity_in_lots():
    assert match("BUY", 1403.0, 500, 1, S) == (90, 1402.4)
    assert match("BUY", 1403.0, 500, 25, S) == (75, 1402.4)


def test_stop_orders_wait_for_their_trigger():
    resting = evaluate("SELL", "STOP_LOSS_MARKET", 0.0, 1400.0, False, 10, 1, S)
    assert resting.qty == 0 and not resting.triggered
    hit = evaluate("SELL", "STOP_LOSS_MARKET", 0.0, 1402.5, False, 10, 1, S)
    assert hit.triggered and hit.qty == 10 and hit.price == S.bid
    sl = evaluate("BUY", "STOP_LOSS", 1402.0, 1402.0, False, 10, 1, S)
    assert sl.triggered and sl.qty == 0  # triggered, but its limit is below the ask


def test_nothing_trades_before_the_first_trade_of_the_day():
    assert match("BUY", 2000.0, 10, 1, replace(S, seq=-1)) == (0, 0.0)

"""Incremental evaluator: bar-by-bar signals, values for explanations, snapshots and restarts."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from strategy import BarOrderError, RuleStateError, parse
from strategy.incremental import Evaluator, RuleSet

IST = ZoneInfo("Asia/Kolkata")


@dataclass
class Bar:
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


def make_bars(closes, start=datetime(2024, 3, 1, 9, 15, tzinfo=IST)):
    out = []
    prev = closes[0]
    for i, c in enumerate(closes):
        out.append(
            Bar(
                start + timedelta(minutes=5 * i),
                prev,
                max(prev, c) + 0.5,
                min(prev, c) - 0.5,
                c,
                100 + i,
            )
        )
        prev = c
    return out


CLOSES = [
    100,
    101,
    103,
    102,
    99,
    98,
    97,
    99,
    102,
    104,
    105,
    103,
    101,
    100,
    102,
    106,
    108,
    107,
    105,
    104,
] * 3


def test_signals_from_objects_and_dicts_agree():
    rule = parse("sma(close, 3) crosses above sma(close, 5)")
    bars = make_bars(CLOSES)
    a = Evaluator(rule).replay(bars)
    b = Evaluator(rule).replay([vars(x) for x in bars])
    assert a == b and any(a)
    assert a[:5] == [False] * 5  # warm-up: lookback 5 bars


def test_values_explain_the_decision():
    rule = parse("close > sma(close, 3) and rsi(close, 2) < 90")
    ev = Evaluator(rule)
    for bar in make_bars([10, 11, 12, 11, 13]):
        fired = ev.update(bar)
    v = ev.values()
    assert v["sma(close,3)"] == 12.0
    assert v["close"] == 13.0
    assert v["close > sma(close,3)"] is True
    assert set(v) == {
        "close",
        "sma(close,3)",
        "close > sma(close,3)",
        "rsi(close,2)",
        "rsi(close,2) < 90",
        "close > sma(close,3) and rsi(close,2) < 90",
    }
    assert fired == (v["rsi(close,2)"] < 90)


def test_snapshot_restore_resumes_exactly():
    rule = parse(
        "ema(close, 5) crosses above sma(close, 8) or rsi(4) > 70 and close > vwap "
        "or macd_hist(close, 3, 6, 2) > 0 and atr(3) > 1 and prev(close, 2) < close"
    )
    bars = make_bars(CLOSES)
    straight = Evaluator(rule).replay(bars)
    first = Evaluator(rule)
    head = first.replay(bars[:23])
    snap = json.loads(json.dumps(first.snapshot()))  # survives a trip through JSON
    resumed = Evaluator(rule)
    resumed.restore(snap)
    assert resumed.bars == 23
    assert resumed.values() == first.values()
    assert head + resumed.replay(bars[23:]) == straight


def test_restore_refuses_another_rules_snapshot():
    snap = Evaluator(parse("close > sma(close, 3)")).snapshot()
    with pytest.raises(RuleStateError, match="snapshot is for rule"):
        Evaluator(parse("close > sma(close, 4)")).restore(snap)
    with pytest.raises(RuleStateError, match="format"):
        Evaluator(parse("close > sma(close, 3)")).restore({**snap, "format": 99})


def test_rebuild_by_replaying_warm_up_bars():
    # window indicators depend only on their window: replaying `lookback` bars is enough
    rule = parse(
        "close > highest(high, 5) or close < lowest(low, 5) or wma(close, 4) > sma(close, 6)"
    )
    bars = make_bars(CLOSES)
    full = Evaluator(rule).replay(bars)
    start = 30
    ev = Evaluator(rule)
    ev.replay(bars[start - rule.lookback : start])
    assert ev.replay(bars[start:]) == full[start:]


def test_rejects_naive_timestamps():
    bar = vars(make_bars([1, 2])[0]) | {"ts": datetime(2024, 1, 1, 9, 15)}
    with pytest.raises(ValueError, match="timezone-aware"):
        Evaluator(parse("close > 0")).update(bar)


def test_time_filter_reads_ist_wall_clock():
    rule = parse("time >= 09:20 and time < 09:30")
    got = Evaluator(rule).replay(make_bars([1] * 4))  # 09:15 09:20 09:25 09:30 IST
    assert got == [False, True, True, False]


def test_a_repeated_or_older_bar_is_refused_without_touching_state():
    rule = parse("close > sma(close, 3)")
    bars = make_bars(CLOSES[:6])
    ev = Evaluator(rule)
    ev.replay(bars[:4])
    before = ev.snapshot()
    for stale in (bars[3], bars[1]):
        with pytest.raises(BarOrderError, match="is not after the last bar"):
            ev.update(stale)
    assert ev.snapshot() == before
    resumed = Evaluator(rule)
    resumed.restore(json.loads(json.dumps(before)))
    with pytest.raises(BarOrderError):
        resumed.update(bars[3])
    assert resumed.replay(bars[4:]) == Evaluator(rule).replay(bars)[4:]


def test_roc_reads_only_the_two_ends_of_its_window():
    # found by hypothesis: a gap between the ends must not hide roc's value
    rule = parse("roc(close / (close - 50), 2) > -1000")
    bars = make_bars([52, 50, 52])  # the middle bar divides by zero
    ev = Evaluator(rule)
    ev.replay(bars)
    assert ev.values()["close / (close - 50)"] == 26.0
    assert ev.values()["roc(close / (close - 50),2)"] == 0.0


def test_window_sums_add_in_the_kernels_order():
    """The O(log n) window sum gives the bits of the kernel's sum over the whole window."""
    import random

    from strategy.cells import WindowSums
    from strategy.kernels import window_total

    rng = random.Random(7)
    for n in (1, 2, 3, 5, 8, 13, 20, 31, 64):
        sums, seen = WindowSums(n), []
        for _ in range(3 * n + 5):
            x = None if rng.random() < 0.05 else rng.uniform(-1e3, 1e3) * 1.0000001
            sums.push(x)
            seen.append(x)
            if len(seen) >= n:
                window = seen[-n:]
                want = None if None in window else window_total(window)
                assert sums.total() == want, (n, len(seen))


def test_a_rule_set_decides_as_its_rules_alone_and_keeps_one_of_each_cell():
    """Entry and exit share their sub-expressions: one window, the same signals and values."""
    entry = parse("close crosses above sma(close, 4) and rsi(close, 3) < 80")
    exit_ = parse("close crosses below sma(close, 4) or rsi(close, 3) > 90")
    bars = make_bars(CLOSES)
    rules = RuleSet(entry, exit_)
    alone = (Evaluator(entry).replay(bars), Evaluator(exit_).replay(bars))
    together = [rules.update(b) for b in bars]
    assert [t[0] for t in together] == alone[0] and any(alone[0])
    assert [t[1] for t in together] == alone[1] and any(alone[1])
    a, b = rules.evaluators
    assert a._cells["sma(close,4)"] is b._cells["sma(close,4)"]
    assert a._cells["rsi(close,3)"] is b._cells["rsi(close,3)"]
    solo = Evaluator(exit_)
    solo.replay(bars)
    assert b.values() == solo.values() and b.bars == len(bars)
    # each rule's snapshot is its own rule's, and restores a set or a lone evaluator
    resumed = RuleSet(entry, exit_)
    for ev, snap in zip(resumed.evaluators, (a.snapshot(), b.snapshot()), strict=True):
        ev.restore(json.loads(json.dumps(snap)))
    assert b.snapshot() == solo.snapshot()
    more = make_bars(CLOSES[:10], start=bars[-1].ts + timedelta(minutes=5))
    cont = Evaluator(exit_)
    cont.restore(solo.snapshot())
    assert [resumed.update(x)[1] for x in more] == cont.replay(more)
    with pytest.raises(BarOrderError):
        resumed.update(more[-1])

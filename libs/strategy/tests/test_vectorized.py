"""Vectorized evaluator semantics: crosses, warm-up, nulls, time filters in IST, speed."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from strategy import parse
from strategy.vectorized import evaluate, signals, values

IST = ZoneInfo("Asia/Kolkata")


def bars(
    close,
    start=datetime(2024, 1, 1, 9, 15, tzinfo=IST),
    step=timedelta(minutes=1),
    tz="Asia/Kolkata",
):
    n = len(close)
    c = np.asarray(close, dtype=float)
    ts = pl.Series("ts", [start + i * step for i in range(n)]).dt.cast_time_unit("us")
    return pl.DataFrame(
        {
            "ts": ts.dt.convert_time_zone(tz),
            "open": c,
            "high": c + 1,
            "low": c - 1,
            "close": c,
            "volume": np.full(n, 10, dtype=np.int64),
        }
    )


def test_crosses_above_and_below_follow_the_definition():
    df = bars([1, 3, 3, 1, 2, 4])
    # a = close, b = 2.5 constant: above when close[t] > 2.5 and close[t-1] <= 2.5
    assert evaluate(parse("close crosses above 2.5"), df).to_list() == [
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    assert evaluate(parse("close crosses below 2.5"), df).to_list() == [
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    # touching then rising counts: t-1 equal is "<="
    assert evaluate(parse("close crosses above 3"), bars([3, 4])).to_list() == [False, True]


def test_warm_up_is_false_even_under_not():
    df = bars([5, 4, 3, 2, 1])
    assert evaluate(parse("not (close > sma(close, 3))"), df).to_list() == [
        False,
        False,
        True,
        True,
        True,
    ]
    # Kleene logic: a false side decides `and` during warm-up, a true side decides `or`
    assert evaluate(parse("close > sma(close, 3) or close > 0"), df).to_list() == [True] * 5
    assert evaluate(parse("close > sma(close, 3) and close < 0"), df).to_list() == [False] * 5


def test_division_by_zero_has_no_value():
    df = bars([1, 2, 3])
    assert evaluate(parse("close / (close - 2) > -100"), df).to_list() == [True, False, True]
    assert values(parse("close / (close - 2) > -100"), df)["close / (close - 2)"].to_list() == [
        -1.0,
        None,
        3.0,
    ]


def test_time_filter_uses_ist_even_for_utc_timestamps():
    # 03:45 UTC is 09:15 IST
    df = bars([1.0] * 4, start=datetime(2024, 1, 1, 3, 44, tzinfo=UTC), tz="UTC")
    assert evaluate(parse("time >= 09:15 and time < 09:17"), df).to_list() == [
        False,
        True,
        True,
        False,
    ]


def test_prev_reads_earlier_bars_only():
    df = bars([1, 2, 3, 4])
    assert values(parse("prev(close, 2) > 0"), df)["prev(close,2)"].to_list() == [
        None,
        None,
        1.0,
        2.0,
    ]


def test_signals_returns_entry_and_exit():
    df = bars([1, 3, 1, 3])
    entry, exit_ = signals(parse("close crosses above 2"), parse("close crosses below 2"), df)
    assert entry.to_list() == [False, True, False, True]
    assert exit_.to_list() == [False, False, True, False]


def test_rejects_frames_without_a_timezone():
    df = bars([1.0]).with_columns(pl.col("ts").dt.replace_time_zone(None))
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(parse("close > 0"), df)
    with pytest.raises(ValueError, match="missing columns"):
        evaluate(parse("close > 0"), df.drop("volume"))


def test_empty_and_short_frames():
    df = bars([1.0, 2.0])
    assert evaluate(parse("rsi(14) < 30 and close > vwap"), df).to_list() == [False, False]
    assert evaluate(parse("close > sma(20)"), df.head(0)).to_list() == []


def test_one_million_bars_in_tens_of_milliseconds():
    n = 1_000_000
    rng = np.random.default_rng(7)
    c = 100 + np.cumsum(rng.normal(0, 0.1, n))
    ts = pl.Series(np.arange(n, dtype=np.int64) * 60_000_000).cast(
        pl.Datetime("us", "Asia/Kolkata")
    )
    df = pl.DataFrame(
        {
            "ts": ts,
            "open": c,
            "high": c + 0.05,
            "low": c - 0.05,
            "close": c,
            "volume": np.ones(n, dtype=np.int64),
        }
    )
    rule = parse("sma(close,10) crosses above sma(close,30)")
    evaluate(rule, df)  # warm polars' thread pool
    best = min(_timed(lambda: evaluate(rule, df)) for _ in range(5))
    # measured ~30 ms on a loaded 2-core box; the bound leaves room for CI noise
    assert best < 0.25, f"{best * 1000:.0f} ms"
    sma10 = np.convolve(c, np.ones(10) / 10, "valid")[20:]
    sma30 = np.convolve(c, np.ones(30) / 30, "valid")
    d = sma10 - sma30
    expected = np.zeros(n, dtype=bool)
    expected[30:] = (d[1:] > 0) & (d[:-1] <= 0)
    # an independent numpy computation (this seed has no near-ties) picks the same bars
    assert np.array_equal(evaluate(rule, df).to_numpy(), expected)


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_constant_on_the_left_of_a_shifted_comparison():
    # polars 2.1 lazy `select` mis-sizes `literal > column.shift(n)`; found by hypothesis
    df = bars([50, 49, 52, 53, 48])
    assert evaluate(parse("50 > prev(open, 1)"), df).to_list() == [False, False, True, False, False]
    assert evaluate(parse("prev(0 > -prev(open, 2), 1)"), df).to_list() == [False] * 3 + [True] * 2
    assert values(parse("50 < prev(close, 2)"), df).height == 5


def test_prev_of_a_cross_between_constants_still_shifts():
    # `0 crosses below 1` is null on bar 0 then false: it varies with the bar, so prev shifts it
    df = bars([50, 50, 50])
    rule = parse("not prev(0 crosses below 1, 1)")
    assert values(rule, df)["prev(0 crosses below 1,1)"].to_list() == [None, None, False]
    assert evaluate(rule, df).to_list() == [False, False, True]

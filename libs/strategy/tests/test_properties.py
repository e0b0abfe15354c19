"""Property-based proofs on random rules and random price paths.

(a) No lookahead: evaluating on bars truncated at any point never changes an earlier value.
(b) The incremental evaluator reproduces the vectorized signals and values exactly.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategy import parse
from strategy.incremental import Evaluator
from strategy.vectorized import evaluate, values

IST = ZoneInfo("Asia/Kolkata")
SERIES = st.sampled_from(["open", "high", "low", "close", "volume", "price"])
PERIOD = st.integers(1, 6)


def _number():
    return st.one_of(st.integers(0, 120).map(str), st.sampled_from(["0.5", "2.25", "100.5"]))


def _sources(numeric):
    return st.one_of(SERIES, numeric.map(lambda e: f"close - ({e})"), _indicators(SERIES))


def _indicators(src):
    one = st.sampled_from(["sma", "ema", "wma", "rsi", "stdev", "roc", "highest", "lowest"])
    macd = st.sampled_from(["macd", "macd_signal", "macd_hist"])
    bb = st.sampled_from(["bb_upper", "bb_middle", "bb_lower"])
    return st.one_of(
        st.builds(lambda f, s, n: f"{f}({s}, {n})", one, src, PERIOD),
        st.builds(lambda f, n: f"{f}({n})", one, PERIOD),  # default source: close
        st.builds(
            lambda f, s, a, b, c: f"{f}({s}, {a}, {a + b}, {c})",
            macd,
            src,
            st.integers(1, 3),
            st.integers(1, 3),
            st.integers(1, 3),
        ),
        st.builds(
            lambda f, s, n, k: f"{f}({s}, {n}, {k})",
            bb,
            src,
            PERIOD,
            st.sampled_from(["1", "2", "0.5"]),
        ),
        st.builds(lambda n: f"atr({n})", PERIOD),
        st.just("vwap"),
        st.builds(lambda f, n: f"{f}({n})", st.sampled_from(["high", "low"]), PERIOD),
    )


numeric = st.deferred(
    lambda: st.one_of(
        SERIES,
        _number(),
        _indicators(_sources(numeric)),
        st.builds(lambda a, op, b: f"({a} {op} {b})", numeric, st.sampled_from("+-*/"), numeric),
        numeric.map(lambda e: f"-({e})"),
        st.builds(lambda e, n: f"prev({e}, {n})", numeric, PERIOD),
    )
)

condition = st.deferred(
    lambda: st.one_of(
        st.builds(
            lambda a, op, b: f"{a} {op} {b}",
            numeric,
            st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
            numeric,
        ),
        st.builds(
            lambda a, d, b: f"{a} crosses {d} {b}",
            numeric,
            st.sampled_from(["above", "below"]),
            numeric,
        ),
        st.builds(
            lambda op, t: f"time {op} {t}",
            st.sampled_from([">=", "<", "==", "!="]),
            st.sampled_from(["09:15", "09:40", "10:05", "15:00"]),
        ),
        st.builds(
            lambda t, op: f"{t} {op} time",
            st.sampled_from(["09:15", "09:40", "10:05"]),
            st.sampled_from(["<", "<=", ">"]),
        ),
        st.builds(
            lambda a, op, b: f"({a}) {op} ({b})",
            condition,
            st.sampled_from(["and", "or"]),
            condition,
        ),
        condition.map(lambda c: f"not ({c})"),
        st.builds(lambda c, n: f"prev({c}, {n})", condition, PERIOD),
    )
)


@st.composite
def price_paths(draw):
    """Random bars in whole ticks, so ties, flat bars and zero ranges happen often."""
    n = draw(st.integers(1, 90))
    steps = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype=float)
    spread = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=float)
    volume = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))
    close = 50.0 + np.cumsum(steps) * 0.5
    open_ = np.concatenate([[50.0], close[:-1]])
    high = np.maximum(open_, close) + spread * 0.5
    low = np.minimum(open_, close) - spread * 0.25
    start = datetime(2024, 5, 2, 9, 15, tzinfo=IST)
    # 12 bars of 5 minutes a day, so sessions (VWAP) and time filters both change
    ts = [start + timedelta(days=i // 12, minutes=5 * (i % 12)) for i in range(n)]
    return pl.DataFrame(
        {
            "ts": pl.Series(ts).dt.cast_time_unit("us"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.array(volume, dtype=np.int64),
        }
    )


SETTINGS = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(text=condition, df=price_paths(), data=st.data())
def test_truncating_the_bars_never_changes_an_earlier_value(text, df, data):
    rule = parse(text)
    cut = data.draw(st.integers(0, df.height), label="cut")
    full_values = values(rule, df)
    assert values(rule, df.head(cut)).equals(full_values.head(cut))
    assert evaluate(rule, df.head(cut)).to_list() == evaluate(rule, df).to_list()[:cut]


@SETTINGS
@given(text=condition, df=price_paths())
def test_incremental_matches_vectorized_exactly(text, df):
    rule = parse(text)
    expected = values(rule, df)
    signals = evaluate(rule, df).to_list()
    ev = Evaluator(rule)
    for i, bar in enumerate(df.iter_rows(named=True)):
        assert ev.update(bar) == signals[i], (text, i)
        got = ev.values()
        for name in expected.columns:
            want = expected[name][i]
            assert got[name] == want or (want is None and got[name] is None), (
                text,
                name,
                i,
                got[name],
                want,
            )

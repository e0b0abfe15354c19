"""Indicators against independent plain-loop references and hand-computed textbook numbers."""

import math
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from strategy import parse
from strategy.vectorized import values

IST = ZoneInfo("Asia/Kolkata")
DATA = Path(__file__).parents[3] / "data" / "ohlc"


def frame(close, high=None, low=None, volume=None, step=timedelta(days=1), start=None):
    n = len(close)
    start = start or datetime(2024, 1, 1, 9, 15, tzinfo=IST)
    return pl.DataFrame(
        {
            "ts": [start + i * step for i in range(n)],
            "open": [float(c) for c in close],
            "high": [float(h) for h in (high or close)],
            "low": [float(lo) for lo in (low or close)],
            "close": [float(c) for c in close],
            "volume": [int(v) for v in (volume or [1] * n)],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))


def series(expr_text, df):
    """Return the values of one indicator expression on bars, None during warm-up."""
    rule = parse(f"{expr_text} > 0")
    cols = values(rule, df)
    return cols.get_column(cols.columns[0] if expr_text == "close" else _key(rule)).to_list()


def _key(rule):
    from strategy.ast import to_text

    return to_text(rule.expr.left)


# ---- independent references: textbook formulas, plain Python loops -------------------------


def ref_sma(x, n):
    return [None if i < n - 1 else sum(x[i - n + 1 : i + 1]) / n for i in range(len(x))]


def ref_ema(x, n):
    out, y, seen, alpha = [], None, [], 2 / (n + 1)
    for v in x:
        if v is None:
            out.append(None)
            continue
        if y is None:
            seen.append(v)
            if len(seen) == n:
                y = sum(seen) / n
            out.append(y)
            continue
        y = alpha * v + (1 - alpha) * y
        out.append(y)
    return out


def ref_wma(x, n):
    w = n * (n + 1) / 2
    return [
        None if i < n - 1 else sum((k + 1) * x[i - n + 1 + k] for k in range(n)) / w
        for i in range(len(x))
    ]


def ref_rsi(x, n):
    out = [None] * len(x)
    gains = [max(x[i] - x[i - 1], 0) for i in range(1, len(x))]
    losses = [max(x[i - 1] - x[i], 0) for i in range(1, len(x))]
    ag = al = None
    for i in range(n, len(x)):
        g, lo = gains[i - 1], losses[i - 1]
        if ag is None:
            ag, al = sum(gains[:n]) / n, sum(losses[:n]) / n
        else:
            ag, al = (ag * (n - 1) + g) / n, (al * (n - 1) + lo) / n
        out[i] = 100.0 if al == 0 else 100 - 100 / (1 + ag / al)
    return out


def ref_macd(x, fast, slow, sig):
    line = [
        None if a is None or b is None else a - b
        for a, b in zip(ref_ema(x, fast), ref_ema(x, slow))
    ]
    signal = ref_ema(line, sig)
    hist = [None if a is None or b is None else a - b for a, b in zip(line, signal)]
    return line, signal, hist


def ref_stdev(x, n):
    return [None if i < n - 1 else statistics.pstdev(x[i - n + 1 : i + 1]) for i in range(len(x))]


def ref_atr(h, lo, c, n):
    out, atr = [None] * len(c), None
    trs = [None] + [
        max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))
    ]
    for i in range(n, len(c)):
        atr = sum(trs[1 : n + 1]) / n if atr is None else (atr * (n - 1) + trs[i]) / n
        out[i] = atr
    return out


def ref_vwap(ts, h, lo, c, v):
    out, day, pv, vol = [], None, 0.0, 0.0
    for t, hh, ll, cc, vv in zip(ts, h, lo, c, v):
        d = t.astimezone(IST).date()
        if d != day:
            day, pv, vol = d, 0.0, 0.0
        pv += (hh + ll + cc) / 3 * vv
        vol += vv
        out.append(pv / vol if vol else None)
    return out


def ref_extreme(x, n, fn, include_current=True):
    if include_current:
        return [None if i < n - 1 else fn(x[i - n + 1 : i + 1]) for i in range(len(x))]
    return [None if i < n else fn(x[i - n : i]) for i in range(len(x))]


def assert_close(actual, expected, rel=1e-9):
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        if e is None:
            assert a is None, f"bar {i}: expected no value, got {a}"
        else:
            assert a is not None and math.isclose(a, e, rel_tol=rel, abs_tol=1e-9), (
                f"bar {i}: {a} != {e}"
            )


# ---- against the references on real data ----------------------------------------------------


@pytest.fixture(scope="module")
def daily():
    return pl.read_parquet(DATA / "NSE_EQ-RELIANCE-1d.parquet")


@pytest.fixture(scope="module")
def minute():
    return pl.read_parquet(DATA / "NSE_EQ-TCS-1m.parquet").head(3000)


def _cols(df):
    return tuple(
        df.get_column(c).cast(pl.Float64).to_list() for c in ("high", "low", "close", "volume")
    )


@pytest.mark.parametrize("n", [1, 2, 5, 14, 20, 50])
def test_window_indicators_match_references(daily, n):
    h, lo, c, _ = _cols(daily)
    assert_close(series(f"sma(close, {n})", daily), ref_sma(c, n))
    assert_close(series(f"wma(close, {n})", daily), ref_wma(c, n))
    assert_close(series(f"stdev(close, {n})", daily), ref_stdev(c, n), rel=1e-7)
    assert_close(
        series(f"roc(close, {n})", daily),
        [None if i < n else 100 * (c[i] / c[i - n] - 1) for i in range(len(c))],
    )
    assert_close(series(f"highest(high, {n})", daily), ref_extreme(h, n, max))
    assert_close(series(f"lowest(low, {n})", daily), ref_extreme(lo, n, min))
    assert_close(series(f"high({n})", daily), ref_extreme(h, n, max, include_current=False))
    assert_close(series(f"low({n})", daily), ref_extreme(lo, n, min, include_current=False))


@pytest.mark.parametrize("n", [2, 9, 14, 30])
def test_recursive_indicators_match_references(daily, n):
    h, lo, c, _ = _cols(daily)
    assert_close(series(f"ema(close, {n})", daily), ref_ema(c, n))
    assert_close(series(f"rsi(close, {n})", daily), ref_rsi(c, n))
    assert_close(series(f"atr({n})", daily), ref_atr(h, lo, c, n))


def test_macd_and_bollinger_match_references(daily):
    _, _, c, _ = _cols(daily)
    line, signal, hist = ref_macd(c, 12, 26, 9)
    assert_close(series("macd", daily), line)
    assert_close(series("macd_signal", daily), signal)
    assert_close(series("macd_hist", daily), hist, rel=1e-7)
    mid, sd = ref_sma(c, 20), ref_stdev(c, 20)
    assert_close(series("bb_middle", daily), mid)
    assert_close(
        series("bb_upper(close, 20, 2.5)", daily),
        [None if m is None else m + 2.5 * s for m, s in zip(mid, sd)],
    )
    assert_close(
        series("bb_lower", daily), [None if m is None else m - 2 * s for m, s in zip(mid, sd)]
    )


def test_vwap_resets_each_ist_session(minute):
    h, lo, c, v = _cols(minute)
    ts = minute.get_column("ts").to_list()
    assert_close(series("vwap", minute), ref_vwap(ts, h, lo, c, v))
    days = {t.date() for t in ts}
    assert len(days) >= 5


def test_vwap_has_no_value_without_volume():
    df = frame([10, 11, 12], volume=[0, 0, 0])
    assert series("vwap", df) == [None, None, None]


def test_indicator_of_an_expression(daily):
    _, _, c, _ = _cols(daily)
    assert_close(series("ema(rsi(close, 14), 5)", daily), ref_ema(ref_rsi(c, 14), 5))
    o = daily.get_column("open").to_list()
    assert_close(series("sma(close - open, 10)", daily), ref_sma([a - b for a, b in zip(c, o)], 10))


# ---- hand-computed textbook numbers ----------------------------------------------------------

# Wilder's RSI worked example (StockCharts "Relative Strength Index" ChartSchool sheet, 14 days).
RSI_CLOSES = [
    44.34,
    44.09,
    44.15,
    43.61,
    44.33,
    44.83,
    45.10,
    45.42,
    45.84,
    46.08,
    45.89,
    46.03,
    45.61,
    46.28,
    46.28,
    46.00,
    46.03,
    46.41,
    46.22,
    45.64,
    46.21,
    46.25,
    45.71,
    46.45,
    45.78,
    45.35,
    44.03,
    44.18,
    44.22,
    44.57,
    43.42,
    42.66,
    43.13,
]
RSI_EXPECTED = [
    70.53,
    66.32,
    66.55,
    69.41,
    66.36,
    57.97,
    62.93,
    63.26,
    56.06,
    62.38,
    54.71,
    50.42,
    39.99,
    41.46,
    41.87,
    45.46,
    37.30,
    33.08,
    37.77,
]


def test_rsi_wilder_textbook_example():
    got = series("rsi(close, 14)", frame(RSI_CLOSES))
    assert got[:14] == [None] * 14
    # First averages by hand: gains sum 3.34 / 14 = 0.238571..., losses 1.40 / 14 = 0.1;
    # RSI = 100 - 100 / (1 + 2.38571...) = 70.464...
    assert got[14] == pytest.approx(100 - 100 / (1 + (3.34 / 14) / (1.40 / 14)), rel=1e-12)
    assert round(got[14], 3) == 70.464
    # The published sheet rounds its averages to 2 decimals (0.24 / 0.10 -> 70.53), so its
    # values sit within 0.1 of the exact ones.
    assert all(abs(a - b) < 0.1 for a, b in zip(got[14:], RSI_EXPECTED))


def test_rsi_is_100_without_losses():
    assert series("rsi(close, 3)", frame([1, 2, 3, 4, 4]))[3:] == [100.0, 100.0]


def test_hand_computed_values():
    df = frame([1, 2, 3, 4, 5])
    assert series("sma(close, 3)", df) == [None, None, 2.0, 3.0, 4.0]
    # EMA(3): alpha 0.5, seeded with the SMA of the first 3 values
    assert series("ema(close, 3)", df) == [None, None, 2.0, 3.0, 4.0]
    assert series("ema(close, 3)", frame([1, 2, 3, 7, 1])) == [None, None, 2.0, 4.5, 2.75]
    assert series("wma(close, 3)", df)[2] == pytest.approx(14 / 6)
    assert series("roc(close, 2)", df) == [None, None, 200.0, 100.0, pytest.approx(200 / 3)]
    assert series("stdev(close, 8)", frame([2, 4, 4, 4, 5, 5, 7, 9]))[-1] == 2.0  # ddof=0
    assert series("high(2)", frame([3, 1, 2, 5, 4])) == [None, None, 3.0, 2.0, 5.0]
    assert series("highest(close, 2)", frame([3, 1, 2, 5, 4])) == [None, 3.0, 2.0, 5.0, 5.0]


def test_atr_hand_computed():
    df = frame([10, 11, 10, 12], high=[11, 12, 11, 13], low=[9, 10, 8, 11])
    # TR: -, max(2,|12-10|,|10-10|)=2, max(3,|11-11|,|8-11|)=3, max(2,|13-10|,|11-10|)=3
    assert series("atr(2)", df) == [None, None, 2.5, 2.75]


def test_vwap_hand_computed_across_two_days():
    start = datetime(2024, 1, 1, 15, 28, tzinfo=IST)
    df = frame(
        [10, 20, 30],
        high=[10, 20, 30],
        low=[10, 20, 30],
        volume=[1, 3, 2],
        step=timedelta(minutes=1),
        start=start,
    )
    df = df.with_columns(
        pl.Series(
            "ts", [start, start + timedelta(minutes=1), datetime(2024, 1, 2, 9, 15, tzinfo=IST)]
        ).dt.cast_time_unit("us")
    )
    assert series("vwap", df) == [10.0, 17.5, 30.0]


@pytest.mark.parametrize(
    "expr",
    [
        "sma(close, 7)",
        "ema(close, 7)",
        "wma(close, 7)",
        "rsi(close, 7)",
        "stdev(close, 7)",
        "roc(close, 7)",
        "highest(close, 7)",
        "lowest(close, 7)",
        "high(7)",
        "low(7)",
        "atr(7)",
        "vwap",
        "macd",
        "macd_signal",
        "macd_hist(close, 3, 8, 4)",
        "bb_upper",
        "bb_middle",
        "bb_lower(close, 5, 1)",
        "ema(rsi(close, 14), 5)",
        "prev(sma(close, 5), 3)",
        "sma(close, 3) - prev(close, 4)",
    ],
)
def test_lookback_is_the_first_bar_with_a_value(daily, expr):
    rule = parse(f"{expr} > 0")
    got = values(rule, daily).get_column(f"{_key(rule)} > 0").to_list()
    first = next(i for i, v in enumerate(got) if v is not None)
    assert first == rule.lookback
    assert None not in got[first:]


def test_lookback_of_crosses(daily):
    rule = parse("sma(close, 5) crosses above sma(close, 9)")
    got = values(rule, daily).get_column(str(rule)).to_list()
    assert rule.lookback == 9
    assert got[: rule.lookback] == [None] * rule.lookback and None not in got[rule.lookback :]

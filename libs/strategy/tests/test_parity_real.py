"""Parity on real NSE bars: the incremental evaluator gives exactly the vectorized signals and
values (bit for bit) for a catalogue covering every operator and every indicator."""

from pathlib import Path

import polars as pl
import pytest
from strategy import parse
from strategy.ast import Arith, Compare, Cross, Indicator, Logic, Neg, Not, Prev, walk
from strategy.catalog import INDICATORS
from strategy.incremental import Evaluator
from strategy.vectorized import evaluate, values

DATA = Path(__file__).parents[3] / "data" / "ohlc"

CATALOGUE = [
    "sma(close, 10) crosses above sma(close, 30)",
    "ema(close, 9) crosses below ema(close, 21)",
    "wma(close, 10) > sma(close, 10) and volume > 0",
    "rsi(close, 14) < 30 or rsi(14) > 70",
    "macd crosses above macd_signal",
    "macd_hist(close, 5, 13, 4) > 0 and macd(close, 5, 13, 4) < macd_signal(close, 5, 13, 4) + 1",
    "close > bb_upper(close, 20, 2) or close < bb_lower",
    "bb_middle(close, 10, 1.5) >= open",
    "atr(14) > 2 * stdev(close, 14)",
    "close > vwap and prev(close, 1) <= prev(vwap, 1)",
    "roc(close, 10) > 0.5 or roc(3) <= -0.5",
    "price > high(20)",
    "low < low(10) and not (close == open)",
    "highest(high, 15) - lowest(low, 15) > 3 * atr(15)",
    "close != prev(close, 1) and -close < -open",
    "(close - open) / (high - low) > 0.6",
    "(high + low) * 0.5 > ema(rsi(close, 7), 5)",
    "time >= 09:30 and time < 15:00 and close > open",
    "sma(close - open, 5) > 0 or sma(volume, 20) < volume / 2",
    "ema(close, 50) > ema(close, 200) and close crosses above sma(close, 20)",
    "prev(close > open, 3) and close < open",
]

FILES = {  # file -> bars from its end (the 1d file in full)
    "NSE_EQ-TCS-1m.parquet": 5000,
    "NSE_EQ-RELIANCE-5m.parquet": 5000,
    "NSE_EQ-SBIN-15m.parquet": 5000,
    "NSE_EQ-RELIANCE-1d.parquet": None,
}


def test_catalogue_covers_every_operator_and_indicator():
    nodes = [n for text in CATALOGUE for n in walk(parse(text).expr)]
    assert {n.name for n in nodes if isinstance(n, Indicator)} >= {*INDICATORS, "high", "low"}
    assert {n.op for n in nodes if isinstance(n, (Arith, Compare, Logic))} == {
        "+",
        "-",
        "*",
        "/",
        ">",
        ">=",
        "<",
        "<=",
        "==",
        "!=",
        "and",
        "or",
    }
    assert {n.direction for n in nodes if isinstance(n, Cross)} == {"above", "below"}
    for kind in (Neg, Not, Prev):
        assert any(isinstance(n, kind) for n in nodes)


@pytest.fixture(scope="module", params=sorted(FILES))
def bars(request):
    df = pl.read_parquet(DATA / request.param)
    tail = FILES[request.param]
    df = df.tail(tail) if tail else df
    return df, df.to_dicts()


@pytest.mark.parametrize("text", CATALOGUE)
def test_incremental_equals_vectorized(bars, text):
    df, rows = bars
    rule = parse(text)
    expected = values(rule, df)
    signals = evaluate(rule, df).to_list()
    columns = {name: expected[name].to_list() for name in expected.columns}
    ev = Evaluator(rule)
    for i, row in enumerate(rows):
        assert ev.update(row) == signals[i], f"signal differs at bar {i} ({row['ts']})"
        got = ev.values()
        for name, col in columns.items():
            assert got[name] == col[i] or (got[name] is None and col[i] is None), (
                f"{name} at bar {i} ({row['ts']}): incremental {got[name]!r} vs vectorized {col[i]!r}"
            )


def test_headline_rule_on_a_whole_1m_file():
    df = pl.read_parquet(DATA / "IDX-NIFTY50-1m.parquet")
    entry = parse("sma(close, 10) crosses above sma(close, 30)")
    signals = evaluate(entry, df).to_list()
    ev = Evaluator(entry)
    assert [ev.update(r) for r in df.iter_rows(named=True)] == signals
    assert sum(signals) > 100

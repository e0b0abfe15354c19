"""polars building blocks of the vectorized evaluator: kernel wrappers, VWAP, exact division."""

from __future__ import annotations

import numpy as np
import polars as pl

from strategy import kernels as K
from strategy.ast import Arith, Expr, Neg, Num

IST = "Asia/Kolkata"
F64 = pl.Float64


def ist(ts: pl.Expr) -> pl.Expr:
    """Convert a timestamp expression to IST wall-clock time."""
    return ts.dt.convert_time_zone(IST)


def np_kernel(fn, *params) -> callable:
    """Wrap a one-array numpy kernel for `map_batches` (null <-> NaN at the boundary)."""

    def run(s: pl.Series) -> pl.Series:
        return pl.Series(fn(s.cast(F64).to_numpy(), *params), dtype=F64, nan_to_null=True)

    return run


def hlc_kernel(fn, *params) -> callable:
    """Wrap a (high, low, close) numpy kernel for `map_batches` over a struct column."""

    def run(s: pl.Series) -> pl.Series:
        h, lo, c = (s.struct.field(f).cast(F64).to_numpy() for f in ("high", "low", "close"))
        return pl.Series(fn(h, lo, c, *params), dtype=F64, nan_to_null=True)

    return run


def macd_part(part: int, fast: int, slow: int, sig: int):
    """Return a kernel for one MACD output: 0 line, 1 signal, 2 histogram."""
    return lambda x: K.macd(x, fast, slow, sig)[part]


def bollinger(which: str, n: int, k: float):
    """Return a kernel for bb_upper, bb_middle or bb_lower."""

    def run(x: np.ndarray) -> np.ndarray:
        mid = K.sma(x, n)
        if which == "bb_middle":
            return mid
        sd = K.stdev(x, n)
        return mid + k * sd if which == "bb_upper" else mid - k * sd

    return run


SIMPLE = {
    "sma": K.sma,
    "ema": K.ema,
    "wma": K.wma,
    "rsi": K.rsi,
    "stdev": K.stdev,
    "roc": K.roc,
    "highest": K.highest,
    "lowest": K.lowest,
}


def _vwap_kernel(s: pl.Series) -> pl.Series:
    h, lo, c, v = (
        s.struct.field(f).cast(F64).to_numpy() for f in ("high", "low", "close", "volume")
    )
    day = s.struct.field("day").to_numpy()
    return pl.Series(K.vwap(h, lo, c, v, day), dtype=F64, nan_to_null=True)


def vwap() -> pl.Expr:
    """Return the session VWAP expression (sessions are IST calendar days)."""
    day = ist(pl.col("ts")).dt.date().cast(pl.Int32).alias("day")
    fields = pl.struct(pl.col("high"), pl.col("low"), pl.col("close"), pl.col("volume"), day)
    return fields.map_batches(_vwap_kernel, return_dtype=F64)


def _divide_kernel(s: pl.Series) -> pl.Series:
    a, b = (s.struct.field(f).cast(F64).to_numpy() for f in ("a", "b"))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(b != 0.0, a / b, np.nan)
    return pl.Series(q, dtype=F64, nan_to_null=True)


def divide(a: pl.Expr, b: pl.Expr, left: Expr, right: Expr, constant: bool) -> pl.Expr:
    """Divide exactly; x/0 has no value.

    polars may turn a division by a scalar into a multiplication by its reciprocal, which is
    not the IEEE quotient the incremental evaluator computes, so the division runs in numpy.
    """
    if constant:  # both sides are literals: fold with Python floats
        x, y = _fold(left), _fold(right)
        return pl.lit(None if x is None or y is None or y == 0.0 else x / y, dtype=F64)
    return pl.struct(a.alias("a"), b.alias("b")).map_batches(_divide_kernel, return_dtype=F64)


def _fold(node: Expr) -> float | None:
    """Evaluate a constant number expression with Python floats (as the incremental side does)."""
    match node:
        case Num(value):
            return float(value)
        case Neg(expr):
            v = _fold(expr)
            return None if v is None else -v
        case Arith(op, left, right):
            x, y = _fold(left), _fold(right)
            if x is None or y is None:
                return None
            if op == "/":
                return None if y == 0.0 else x / y
            return x + y if op == "+" else x - y if op == "-" else x * y
    raise TypeError(f"not a constant number: {node!r}")

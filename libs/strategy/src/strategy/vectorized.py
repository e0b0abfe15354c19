"""Whole-history evaluation: the AST compiled to polars expressions.

Arithmetic, comparisons, logic, `prev`, `crosses` and time filters are native polars
expressions; indicators are `map_batches` calls into `strategy.kernels` (numpy, one pass per
window offset, never a Python loop per bar). Missing values (warm-up, division by zero) are
nulls; logic is three-valued (Kleene) and a null signal counts as False.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from strategy import kernels as K
from strategy.ast import (
    Arith,
    Compare,
    Cross,
    Expr,
    Indicator,
    Logic,
    Neg,
    Not,
    Num,
    Prev,
    Rule,
    Series,
    TimeLit,
    TimeOfDay,
    children,
    to_text,
    walk,
)

IST = "Asia/Kolkata"
_F64 = pl.Float64


def _ist(ts: pl.Expr) -> pl.Expr:
    return ts.dt.convert_time_zone(IST)


def _np_kernel(fn, *params) -> callable:
    def run(s: pl.Series) -> pl.Series:
        return pl.Series(fn(s.cast(_F64).to_numpy(), *params), dtype=_F64, nan_to_null=True)

    return run


def _hlc_kernel(fn, *params) -> callable:
    def run(s: pl.Series) -> pl.Series:
        h, lo, c = (s.struct.field(f).cast(_F64).to_numpy() for f in ("high", "low", "close"))
        return pl.Series(fn(h, lo, c, *params), dtype=_F64, nan_to_null=True)

    return run


def _macd_part(part: int, fast: int, slow: int, sig: int):
    return lambda x: K.macd(x, fast, slow, sig)[part]


def _bb(which: str, n: int, k: float):
    def run(x: np.ndarray) -> np.ndarray:
        mid = K.sma(x, n)
        if which == "bb_middle":
            return mid
        sd = K.stdev(x, n)
        return mid + k * sd if which == "bb_upper" else mid - k * sd

    return run


_SIMPLE = {
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
        s.struct.field(f).cast(_F64).to_numpy() for f in ("high", "low", "close", "volume")
    )
    day = s.struct.field("day").to_numpy()
    return pl.Series(K.vwap(h, lo, c, v, day), dtype=_F64, nan_to_null=True)


def _vwap() -> pl.Expr:
    day = _ist(pl.col("ts")).dt.date().cast(pl.Int32).alias("day")
    fields = pl.struct(pl.col("high"), pl.col("low"), pl.col("close"), pl.col("volume"), day)
    return fields.map_batches(_vwap_kernel, return_dtype=_F64)


def _divide_kernel(s: pl.Series) -> pl.Series:
    a, b = (s.struct.field(f).cast(_F64).to_numpy() for f in ("a", "b"))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(b != 0.0, a / b, np.nan)
    return pl.Series(q, dtype=_F64, nan_to_null=True)


def _divide(a: pl.Expr, b: pl.Expr, left: Expr, right: Expr) -> pl.Expr:
    """Divide exactly; x/0 has no value.

    polars may turn a division by a scalar into a multiplication by its reciprocal, which is
    not the IEEE quotient the incremental evaluator computes, so the division runs in numpy.
    """
    if _is_constant(left) and _is_constant(right):
        x, y = _fold(left), _fold(right)
        return pl.lit(None if x is None or y is None or y == 0.0 else x / y, dtype=_F64)
    return pl.struct(a.alias("a"), b.alias("b")).map_batches(_divide_kernel, return_dtype=_F64)


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


_MIRROR = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _compare(op: str, a: pl.Expr, b: pl.Expr, left: Expr, right: Expr) -> pl.Expr:
    """Compare with any constant on the right.

    polars 2.1's lazy `select` mis-sizes `literal > column.shift(n)` (wrong length, or a
    "zip node" shape error when nested); `column.shift(n) < literal` is unaffected, and for
    numbers without NaN the mirrored comparison is the same test.
    """
    if _is_constant(left) and not _is_constant(right):
        return _OPS[_MIRROR[op]](b, a)
    return _OPS[op](a, b)


def _is_constant(node: Expr) -> bool:
    return not any(isinstance(n, (Series, TimeOfDay, Indicator, Prev)) for n in walk(node))


def _shift(expr: pl.Expr, n: int, node: Expr) -> pl.Expr:
    """Shift by n bars; a constant is a scalar expression, so mask its first n bars instead."""
    if _is_constant(node):
        return pl.when(pl.int_range(pl.len()) >= n).then(expr)
    return expr.shift(n)


def _depth(node: Expr) -> int:
    """Return how many indicators are nested in a node (1 for `sma(close,5)`)."""
    below = max((_depth(c) for c in children(node)), default=0)
    return below + 1 if isinstance(node, Indicator) else below


class _Compiler:
    """Compile nodes to expressions; each distinct indicator becomes one staged column.

    polars does not merge repeated `map_batches` calls, so an indicator used twice (as in
    `crosses`, which reads it at t and t-1) is computed once into a column and referenced.
    """

    def __init__(self) -> None:
        self.memo: dict[str, pl.Expr] = {}
        self.stages: dict[int, list[pl.Expr]] = {}

    def expr(self, node: Expr) -> pl.Expr:
        key = to_text(node)
        if key not in self.memo:
            built = self.build(node)
            if isinstance(node, Indicator):
                column = f"__ind{len(self.memo)}"
                self.stages.setdefault(_depth(node), []).append(built.alias(column))
                built = pl.col(column)
            self.memo[key] = built
        return self.memo[key]

    def frame(self, df: pl.DataFrame) -> pl.LazyFrame:
        """Return the bars with every staged indicator column added, innermost first."""
        lf = df.lazy()
        for depth in sorted(self.stages):
            lf = lf.with_columns(self.stages[depth])
        return lf

    def indicator(self, node: Indicator) -> pl.Expr:
        name, p = node.name, node.params
        if name == "vwap":
            return _vwap()
        if name in ("atr", "high", "low"):
            n = int(p[0])
            if name == "high":
                return pl.col("high").cast(_F64).map_batches(_np_kernel(K.highest, n)).shift(1)
            if name == "low":
                return pl.col("low").cast(_F64).map_batches(_np_kernel(K.lowest, n)).shift(1)
            hlc = pl.struct(pl.col("high"), pl.col("low"), pl.col("close"))
            return hlc.map_batches(_hlc_kernel(K.atr, n), return_dtype=_F64)
        src = self.expr(node.source)
        if name in _SIMPLE:
            fn = _SIMPLE[name]
            return src.map_batches(_np_kernel(fn, int(p[0])), return_dtype=_F64)
        if name.startswith("macd"):
            part = {"macd": 0, "macd_signal": 1, "macd_hist": 2}[name]
            fn = _macd_part(part, int(p[0]), int(p[1]), int(p[2]))
        else:
            fn = _bb(name, int(p[0]), float(p[1]))
        return src.map_batches(_np_kernel(fn), return_dtype=_F64)

    def build(self, node: Expr) -> pl.Expr:
        match node:
            case Num(value):
                return pl.lit(float(value), dtype=_F64)
            case Series(name):
                return pl.col(name).cast(_F64)
            case TimeOfDay():
                t = _ist(pl.col("ts"))
                return (
                    t.dt.hour().cast(pl.Int32) * 3600
                    + t.dt.minute().cast(pl.Int32) * 60
                    + t.dt.second().cast(pl.Int32)
                )
            case TimeLit(seconds):
                return pl.lit(seconds, dtype=pl.Int32)
            case Indicator():
                return self.indicator(node)
            case Prev(expr, n):
                return _shift(self.expr(expr), n, expr)
            case Neg(expr):
                return -self.expr(expr)
            case Not(expr):
                return ~self.expr(expr)
            case Arith(op, left, right):
                a, b = self.expr(left), self.expr(right)
                if op == "+":
                    return a + b
                if op == "-":
                    return a - b
                if op == "*":
                    return a * b
                return _divide(a, b, left, right)
            case Compare(op, left, right):
                return _compare(op, self.expr(left), self.expr(right), left, right)
            case Logic(op, left, right):
                a, b = self.expr(left), self.expr(right)
                return a & b if op == "and" else a | b
            case Cross(direction, left, right):
                a, b = self.expr(left), self.expr(right)
                pa, pb = _shift(a, 1, left), _shift(b, 1, right)
                now, before = (">", "<=") if direction == "above" else ("<", ">=")
                return _compare(now, a, b, left, right) & _compare(before, pa, pb, left, right)
        raise TypeError(f"not a rule node: {node!r}")


def evaluate(rule: Rule, df: pl.DataFrame) -> pl.Series:
    """Evaluate a rule on bars (columns ts, open, high, low, close, volume) -> boolean Series."""
    return _run([rule], df)[0].alias("signal")


def signals(entry: Rule, exit: Rule, df: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Return the (entry, exit) signal Series of two rules on the same bars."""
    out = _run([entry, exit], df)
    return out[0].alias("entry"), out[1].alias("exit")


def _run(rules: list[Rule], df: pl.DataFrame) -> list[pl.Series]:
    _check_frame(df)
    compiler = _Compiler()  # shared, so indicators common to both rules are computed once
    outputs = [
        compiler.expr(r.expr).fill_null(False).alias(f"__sig{i}") for i, r in enumerate(rules)
    ]
    # with_columns broadcasts a constant rule (`1 > 0`) to every bar; select would not
    out = compiler.frame(df).with_columns(outputs).collect()
    return [out.get_column(f"__sig{i}") for i in range(len(rules))]


def values(rule: Rule, df: pl.DataFrame) -> pl.DataFrame:
    """Return one column per sub-expression of the rule, named by its canonical text."""
    _check_frame(df)
    compiler = _Compiler()
    names: dict[str, pl.Expr] = {}
    for node in walk(rule.expr):
        if not isinstance(node, (Num, TimeLit)):
            key = to_text(node)
            if key not in names:
                names[key] = compiler.expr(node).alias(key)
    return compiler.frame(df).with_columns(list(names.values())).select(list(names)).collect()


def _check_frame(df: pl.DataFrame) -> None:
    missing = {"ts", "open", "high", "low", "close", "volume"} - set(df.columns)
    if missing:
        raise ValueError(f"bars are missing columns {sorted(missing)}")
    dtype = df.schema["ts"]
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        raise ValueError("ts must be a timezone-aware datetime column")

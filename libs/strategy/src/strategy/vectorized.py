"""Whole-history evaluation: the AST compiled to polars expressions.

Arithmetic, comparisons, logic, `prev`, `crosses` and time filters are native polars
expressions; indicators and division are `map_batches` calls into `strategy.kernels` (numpy,
a few whole-array passes per window, never a Python loop per bar). Missing values (warm-up,
division by zero) are nulls; logic is three-valued (Kleene) and a null signal counts as False.
"""

from __future__ import annotations

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
from strategy.polars_ops import (
    F64,
    SIMPLE,
    bollinger,
    divide,
    hlc_kernel,
    ist,
    macd_part,
    np_kernel,
    vwap,
)

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
    """Whether a node is the same on every bar (prev and crosses depend on the bar's position)."""
    position_or_data = (Series, TimeOfDay, Indicator, Prev, Cross)
    return not any(isinstance(n, position_or_data) for n in walk(node))


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
            return vwap()
        if name in ("atr", "high", "low"):
            n = int(p[0])
            if name == "high":
                return (
                    pl.col("high")
                    .cast(F64)
                    .map_batches(np_kernel(K.highest, n), return_dtype=F64)
                    .shift(1)
                )
            if name == "low":
                return (
                    pl.col("low")
                    .cast(F64)
                    .map_batches(np_kernel(K.lowest, n), return_dtype=F64)
                    .shift(1)
                )
            hlc = pl.struct(pl.col("high"), pl.col("low"), pl.col("close"))
            return hlc.map_batches(hlc_kernel(K.atr, n), return_dtype=F64)
        src = self.expr(node.source)
        if name in SIMPLE:
            fn = SIMPLE[name]
            return src.map_batches(np_kernel(fn, int(p[0])), return_dtype=F64)
        if name.startswith("macd"):
            part = {"macd": 0, "macd_signal": 1, "macd_hist": 2}[name]
            fn = macd_part(part, int(p[0]), int(p[1]), int(p[2]))
        else:
            fn = bollinger(name, int(p[0]), float(p[1]))
        return src.map_batches(np_kernel(fn), return_dtype=F64)

    def build(self, node: Expr) -> pl.Expr:
        match node:
            case Num(value):
                return pl.lit(float(value), dtype=F64)
            case Series(name):
                return pl.col(name).cast(F64)
            case TimeOfDay():
                t = ist(pl.col("ts"))
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
                return divide(a, b, left, right, _is_constant(left) and _is_constant(right))
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

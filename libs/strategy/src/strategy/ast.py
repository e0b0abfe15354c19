"""Typed AST of a checked rule: frozen dataclasses, plus the canonical text of every node.

Spans are excluded from equality, so two occurrences of `sma(close, 20)` are equal nodes; the
canonical text (`sma(close,20)`) names a node in `values()` and keys shared evaluator state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Type(Enum):
    NUMBER = "a number"
    BOOL = "a condition"
    TIME = "a time of day"


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int


_NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Num:
    value: float
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Series:
    """A bar field: open, high, low, close or volume (`price` is parsed as close)."""

    name: str
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """The bar's open time in IST, as seconds since midnight."""

    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TimeLit:
    seconds: int
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator call with every default filled in (source is None for atr, vwap, high, low)."""

    name: str
    source: Expr | None
    params: tuple[float, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Prev:
    expr: Expr
    n: int
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Neg:
    expr: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    expr: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # > >= < <= == !=
    left: Expr
    right: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and or
    left: Expr
    right: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Cross:
    direction: str  # above below
    left: Expr
    right: Expr
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


Expr = (
    Num
    | Series
    | TimeOfDay
    | TimeLit
    | Indicator
    | Prev
    | Neg
    | Not
    | Arith
    | Compare
    | Logic
    | Cross
)


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed, checked rule: its text, typed AST and warm-up length in bars."""

    text: str
    expr: Expr
    lookback: int

    def __str__(self) -> str:
        return to_text(self.expr)


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


def _prec(node: Expr) -> int:
    if isinstance(node, Logic):
        return _PREC[node.op]
    if isinstance(node, Not):
        return _PREC["not"]
    if isinstance(node, (Compare, Cross)):
        return _PREC["cmp"]
    if isinstance(node, Arith):
        return _PREC[node.op]
    if isinstance(node, Neg):
        return _PREC["neg"]
    return 9


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _wrap(node: Expr, min_prec: int) -> str:
    text = to_text(node)
    return f"({text})" if _prec(node) < min_prec else text


def to_text(node: Expr) -> str:
    """Return the canonical text of a node, e.g. `sma(close,20)` or `close > sma(close,20)`."""
    match node:
        case Num(value):
            return _fmt_num(value)
        case Series(name):
            return name
        case TimeOfDay():
            return "time"
        case TimeLit(seconds):
            h, rem = divmod(seconds, 3600)
            return f"{h:02d}:{rem // 60:02d}"
        case Indicator(name, source, params):
            args = ([to_text(source)] if source is not None else []) + [_fmt_num(p) for p in params]
            return f"{name}({','.join(args)})" if args else name
        case Prev(expr, n):
            return f"prev({to_text(expr)},{n})"
        case Neg(expr):
            return f"-{_wrap(expr, _PREC['neg'])}"
        case Not(expr):
            return f"not {_wrap(expr, _PREC['not'])}"
        case Arith(op, left, right) | Logic(op, left, right):
            p = _prec(node)
            # the right operand of - and / needs parentheses at equal precedence
            return f"{_wrap(left, p)} {op} {_wrap(right, p + 1)}"
        case Compare(op, left, right):
            return f"{_wrap(left, 5)} {op} {_wrap(right, 5)}"
        case Cross(direction, left, right):
            return f"{_wrap(left, 5)} crosses {direction} {_wrap(right, 5)}"
    raise TypeError(f"not a rule node: {node!r}")


def children(node: Expr) -> tuple[Expr, ...]:
    """Return the direct sub-expressions of a node, left to right."""
    match node:
        case Indicator(source=source):
            return (source,) if source is not None else ()
        case Prev(expr=e) | Neg(expr=e) | Not(expr=e):
            return (e,)
        case (
            Arith(left=l, right=r)
            | Compare(left=l, right=r)
            | Logic(left=l, right=r)
            | Cross(left=l, right=r)
        ):
            return (l, r)
    return ()


def walk(node: Expr):
    """Yield every node once per occurrence, children before parents (post-order)."""
    for child in children(node):
        yield from walk(child)
    yield node

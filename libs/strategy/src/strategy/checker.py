"""Type and name checks: untyped syntax tree -> typed AST, collecting every error found."""

from __future__ import annotations

import difflib

from strategy import ast as A
from strategy.ast import Type
from strategy.catalog import ALIASES, ALL_NAMES, SERIES, SPECS, Spec, own_lookback
from strategy.errors import RuleErrorInfo
from strategy.parser import COMPARISONS, PBinary, PCall, PName, PNode, PNum, PTime, PUnary, error_at

_CALLABLE = (*SPECS, "prev")
MAX_PERIOD = 100_000  # bars; bounds the ring buffers a live evaluator allocates


def _suggest(name: str, candidates) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class Checker:
    def __init__(self) -> None:
        self.errors: list[RuleErrorInfo] = []

    def err(self, span: A.Span, message: str) -> tuple[None, None]:
        self.errors.append(error_at(span, message))
        return None, None

    def check(self, node: PNode) -> tuple[A.Expr | None, Type | None]:
        """Return the typed node and its type, or (None, None) after recording an error."""
        match node:
            case PNum(text, span):
                return A.Num(float(text), span), Type.NUMBER
            case PTime(text, span):
                h, m = (int(p) for p in text.split(":"))
                if h > 23 or m > 59:
                    return self.err(
                        span, f"invalid time of day '{text}': expected HH:MM from 00:00 to 23:59"
                    )
                return A.TimeLit(h * 3600 + m * 60, span), Type.TIME
            case PName(name, span):
                return self.name(name, span)
            case PCall():
                return self.call(node)
            case PUnary("-", operand, span, _):
                inner, t = self.check(operand)
                if t is None:
                    return None, None
                if t is not Type.NUMBER:
                    return self.err(operand.span, f"unary '-' needs a number, got {t.value}")
                return A.Neg(inner, span), Type.NUMBER
            case PUnary("not", operand, span, _):
                inner, t = self.check(operand)
                if t is None:
                    return None, None
                if t is not Type.BOOL:
                    return self.err(
                        operand.span, f"expected a condition after 'not', got {t.value}"
                    )
                return A.Not(inner, span), Type.BOOL
            case PBinary():
                return self.binary(node)
        raise TypeError(f"unexpected syntax node {node!r}")

    def name(self, name: str, span: A.Span):
        if name in SERIES or name in ALIASES:
            return A.Series(ALIASES.get(name, name), span), Type.NUMBER
        if name == "time":
            return A.TimeOfDay(span), Type.TIME
        if name in SPECS:
            spec = SPECS[name]
            if spec.bare_ok:
                return A.Indicator(
                    name,
                    A.Series("close") if spec.takes_source else None,
                    tuple(p.default for p in spec.params),
                    span,
                ), Type.NUMBER
            return self.err(span, f"{name} needs arguments, e.g. {spec.usage}")
        if name == "prev":
            return self.err(span, "prev needs arguments, e.g. prev(close, 1)")
        return self.err(span, f"unknown name '{name}'{_suggest(name, ALL_NAMES)}")

    def call(self, node: PCall):
        name, args = node.name, node.args
        if name == "prev":
            return self.prev(node)
        if (name in SERIES or name in ALIASES or name == "time") and name not in SPECS:
            hint = f" (for an earlier value use prev({name}, n))" if name != "time" else ""
            return self.err(node.name_span, f"'{name}' takes no arguments{hint}")
        spec = SPECS.get(name)
        if spec is None:
            return self.err(
                node.name_span, f"unknown indicator '{name}'{_suggest(name, _CALLABLE)}"
            )
        source: A.Expr | None = None
        params = list(args)
        if params and not isinstance(params[0], PNum):
            first = params.pop(0)
            if not spec.takes_source:
                what = "high, low and close" if name == "atr" else "the bar's own fields"
                return self.err(
                    first.span, f"{name} takes no source series (it uses {what}); e.g. {spec.usage}"
                )
            source, t = self.check(first)
            if t is None:
                return None, None
            if t is not Type.NUMBER:
                return self.err(
                    first.span, f"the source of {name} must be a number series, got {t.value}"
                )
            if not any(isinstance(n, (A.Series, A.Indicator)) for n in A.walk(source)):
                return self.err(
                    first.span,
                    f"the source of {name} must use the bars (a series such "
                    "as close), got a constant",
                )
        elif spec.takes_source:
            source = A.Series("close")
        if len(params) > len(spec.params):
            extra = params[len(spec.params)]
            return self.err(
                extra.span,
                f"too many arguments for {name}: expected at most "
                f"{len(spec.params)} after the source, e.g. {spec.usage}",
            )
        if len(params) < spec.required:
            missing = spec.params[len(params)].name
            return self.err(node.span, f"{name} needs a {missing}, e.g. {spec.usage}")
        values: list[float] = []
        for i, p in enumerate(spec.params):
            if i >= len(params):
                values.append(float(p.default))
                continue
            v = self.literal(params[i], p.name, p.integer)
            if v is None:
                return None, None
            values.append(v)
        if name.startswith("macd") and values[0] >= values[1]:
            return self.err(
                node.span,
                f"{name}: the fast period ({int(values[0])}) must be shorter "
                f"than the slow period ({int(values[1])})",
            )
        return A.Indicator(name, source, tuple(values), node.span), Type.NUMBER

    def literal(self, arg: PNode, what: str, integer: bool) -> float | None:
        kind = "a positive integer" if integer else "a positive number"
        if not isinstance(arg, PNum):
            self.err(arg.span, f"{what} must be {kind} literal such as 20")
            return None
        value = float(arg.text)
        if value <= 0 or (integer and not value.is_integer()):
            self.err(arg.span, f"{what} must be {kind}, got {arg.text}")
            return None
        if integer and value > MAX_PERIOD:
            self.err(arg.span, f"{what} must be at most {MAX_PERIOD}, got {arg.text}")
            return None
        return value

    def prev(self, node: PCall):
        if len(node.args) != 2:
            return self.err(
                node.span,
                f"prev takes 2 arguments (value, bars back), got {len(node.args)}; e.g. prev(close, 1)",
            )
        inner, t = self.check(node.args[0])
        n = self.literal(node.args[1], "bars back", True)
        if t is None or n is None:
            return None, None
        if t is Type.TIME:
            return self.err(node.args[0].span, "prev of a time of day is not supported")
        return A.Prev(inner, int(n), node.span), t

    def binary(self, node: PBinary):
        left, lt = self.check(node.left)
        right, rt = self.check(node.right)
        op, span = node.op, node.span
        if op in ("and", "or"):
            ok = lt is not None and rt is not None
            for side, t in ((node.left, lt), (node.right, rt)):
                if t is not None and t is not Type.BOOL:  # report even if the other side failed
                    where = "before" if side is node.left else "after"
                    self.err(side.span, f"expected a condition {where} '{op}', got {t.value}")
                    ok = False
            return (A.Logic(op, left, right, span), Type.BOOL) if ok else (None, None)
        if lt is None or rt is None:
            return None, None
        if op in COMPARISONS:
            if Type.TIME in (lt, rt):
                if lt is not rt:
                    other = node.right if lt is Type.TIME else node.left
                    return self.err(
                        other.span,
                        f"time can only be compared with a time of day such as 09:30, got {(rt if lt is Type.TIME else lt).value}",
                    )
                return A.Compare(op, left, right, span), Type.BOOL
            return self.numbers(node, lt, rt) or (A.Compare(op, left, right, span), Type.BOOL)
        if op.startswith("crosses"):
            return self.numbers(node, lt, rt) or (
                A.Cross(op.split()[1], left, right, span),
                Type.BOOL,
            )
        return self.numbers(node, lt, rt) or (A.Arith(op, left, right, span), Type.NUMBER)

    def numbers(self, node: PBinary, lt: Type, rt: Type):
        """Record an error and return (None, None) unless both operands are numbers."""
        for side, t in ((node.left, lt), (node.right, rt)):
            if t is not Type.NUMBER:
                where = "left" if side is node.left else "right"
                return self.err(
                    side.span,
                    f"'{node.op}' needs numbers on both sides, got {t.value} on the {where}",
                )
        return None


def lookback(node: A.Expr) -> int:
    """Return the bars a node needs before its first value (its warm-up)."""
    match node:
        case A.Indicator(name, source, params):
            base = lookback(source) if source is not None else 0
            return base + own_lookback(name, params)
        case A.Prev(expr, n):
            return lookback(expr) + n
        case A.Cross(_, left, right):
            return max(lookback(left), lookback(right)) + 1
    kids = A.children(node)
    return max((lookback(k) for k in kids), default=0)


__all__ = ["Checker", "Spec", "lookback"]

"""Entry points of the language: `parse` for engines, `validate` for editors."""

from __future__ import annotations

from strategy.ast import Rule, Type
from strategy.checker import Checker, lookback
from strategy.errors import RuleErrorInfo, RuleSyntaxError
from strategy.parser import error_at, parse_syntax


def parse(text: str) -> Rule:
    """Parse and check a rule; raise RuleSyntaxError listing every problem found."""
    try:
        syntax = parse_syntax(text)
        checker = Checker()
        expr, typ = checker.check(syntax)
    except RecursionError:
        raise RuleSyntaxError([RuleErrorInfo(1, 1, 2, "rule is nested too deeply")]) from None
    if typ is not None and typ is not Type.BOOL:
        message = f"a rule must be a condition (true or false), got {typ.value}; e.g. close > sma(close, 20)"
        checker.errors.append(error_at(syntax.span, message))
    if checker.errors:
        raise RuleSyntaxError(checker.errors)
    try:
        return Rule(text=text, expr=expr, lookback=lookback(expr))
    except RecursionError:
        raise RuleSyntaxError([RuleErrorInfo(1, 1, 2, "rule is nested too deeply")]) from None


def validate(text: str) -> list[RuleErrorInfo]:
    """Return every problem in a rule (empty when it is valid); never raises."""
    if not isinstance(text, str):
        return [RuleErrorInfo(1, 1, 2, f"a rule must be text, got {type(text).__name__}")]
    try:
        parse(text)
    except RuleSyntaxError as exc:
        return exc.errors
    return []

"""Rule language shared by backtest and execution.

`parse(text) -> Rule` and `validate(text) -> list[RuleErrorInfo]` here; evaluators in
`strategy.vectorized` (whole history, polars) and `strategy.incremental` (one closed bar at a time; `RuleSet` for rules read together).
"""

from strategy.ast import Rule, to_text
from strategy.errors import BarOrderError, RuleError, RuleErrorInfo, RuleStateError, RuleSyntaxError
from strategy.language import parse, validate

__all__ = [
    "BarOrderError",
    "Rule",
    "RuleError",
    "RuleErrorInfo",
    "RuleStateError",
    "RuleSyntaxError",
    "parse",
    "to_text",
    "validate",
]

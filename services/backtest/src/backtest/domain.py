"""Pure rules of strategies: rule checks, version merging, status transitions."""

from __future__ import annotations

from typing import Any

import strategy as rules
from contracts.backtest import RuleCheck, RuleProblem, UpdateStrategy
from contracts.errors import FieldError

DRAFT, BACKTESTED, LIVE, ARCHIVED = "draft", "backtested", "live", "archived"

VERSION_FIELDS = ("name", "description", "segment", "security_id", "symbol", "timeframe",
                  "entry_rule", "exit_rule", "stop_loss_pct", "target_pct", "position_size",
                  "max_positions", "product_type", "direction")


def check_rule(text: str) -> RuleCheck:
    """Check one rule; problems carry 1-based line and column."""
    problems = rules.validate(text)
    if problems:
        return RuleCheck(valid=False, errors=[RuleProblem(line=p.line, col=p.col, end_col=p.end_col,
                                                          message=p.message) for p in problems])
    return RuleCheck(valid=True, errors=[], lookback=rules.parse(text).lookback)


def rule_errors(entry_rule: str, exit_rule: str) -> list[FieldError]:
    """Return one field error per problem in either rule, positions in the message."""
    out = []
    for field, text in (("entryRule", entry_rule), ("exitRule", exit_rule)):
        for p in rules.validate(text):
            out.append(FieldError(field=field, message=str(p)))
    return out


def version_from_create(body: Any) -> dict[str, Any]:
    """Flatten a create request into the columns of a version row."""
    return {
        "name": body.name, "description": body.description,
        "segment": body.instrument.segment, "security_id": body.instrument.security_id,
        "symbol": body.instrument.symbol, "timeframe": body.timeframe,
        "entry_rule": body.entry_rule, "exit_rule": body.exit_rule,
        "stop_loss_pct": body.stop_loss_pct, "target_pct": body.target_pct,
        "position_size": body.position_size, "max_positions": body.max_positions,
        "product_type": body.product_type, "direction": body.direction,
    }


def merge_update(current: dict[str, Any], body: UpdateStrategy) -> dict[str, Any]:
    """Return the next version's columns: the current ones with the sent fields replaced."""
    out = {k: current[k] for k in VERSION_FIELDS}
    sent = body.model_fields_set
    for name in ("name", "description", "timeframe", "entry_rule", "exit_rule", "position_size",
                 "max_positions", "product_type", "direction"):
        value = getattr(body, name)
        if name in sent and value is not None:
            out[name] = value
    for name in ("stop_loss_pct", "target_pct"):
        if name in sent:  # an explicit null removes the level
            out[name] = getattr(body, name)
    if "instrument" in sent and body.instrument is not None:
        out.update(segment=body.instrument.segment, security_id=body.instrument.security_id,
                   symbol=body.instrument.symbol)
    return out


def changed(current: dict[str, Any], proposed: dict[str, Any]) -> bool:
    """Return whether a proposed version differs from the current one."""
    return any(current[k] != proposed[k] for k in VERSION_FIELDS)


def after_backtest(status: str) -> str:
    """Return the status after a completed backtest: a draft becomes backtested."""
    return BACKTESTED if status == DRAFT else status


def after_deployment(status: str, active_deployments: int, has_backtest: bool) -> str:
    """Return the status once deployments changed: live while any runs, else back."""
    if status == ARCHIVED:
        return status
    if active_deployments > 0:
        return LIVE
    if status == LIVE:
        return BACKTESTED if has_backtest else DRAFT
    return status

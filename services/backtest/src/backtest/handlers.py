"""One thin handler per subject: the acting user, the use case, the reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts import backtest as C
from svckit.context import RequestContext
from svckit.micro import MicroService

from .analytics import Analytics
from .backtests import Backtests
from .exports import Exports
from .strategies import Strategies


def _user(fn: Callable[[str, Any], Awaitable[Any]]) -> Callable[[Any, RequestContext], Awaitable[Any]]:
    async def handler(body: Any, ctx: RequestContext) -> Any:
        return await fn(ctx.require_user(), body)
    return handler


def register(micro: MicroService, strategies: Strategies, backtests: Backtests,
             analytics: Analytics, exports: Exports) -> None:
    """Register every request subject of the service."""
    s, b, a = strategies, backtests, analytics

    async def validate(body: C.ValidateRules, ctx: RequestContext) -> C.RulesValidation:
        ctx.require_user()
        return s.validate(body)

    table: list[tuple[str, type, Callable]] = [
        (C.CREATE_STRATEGY, C.CreateStrategy, _user(s.create)),
        (C.LIST_STRATEGIES, C.ListStrategies, _user(s.list)),
        (C.GET_STRATEGY, C.GetStrategy, _user(lambda u, q: s.get(u, q.id, q.version))),
        (C.UPDATE_STRATEGY, C.UpdateStrategy, _user(s.update)),
        (C.DELETE_STRATEGY, C.StrategyRef, _user(lambda u, q: s.delete(u, q.id))),
        (C.CLONE_STRATEGY, C.StrategyRef, _user(lambda u, q: s.clone(u, q.id))),
        (C.LIST_VERSIONS, C.StrategyRef, _user(lambda u, q: s.versions(u, q.id))),
        (C.VALIDATE_RULES, C.ValidateRules, validate),
        (C.CREATE_BACKTEST, C.CreateBacktest, _user(b.create)),
        (C.GET_BACKTEST, C.BacktestRef, _user(lambda u, q: b.get(u, q.id))),
        (C.CANCEL_BACKTEST, C.BacktestRef, _user(lambda u, q: b.cancel(u, q.id))),
        (C.BACKTEST_RESULTS, C.GetResults, _user(b.results)),
        (C.BACKTEST_HISTORY, C.BacktestHistoryQuery, _user(b.history)),
        (C.EXPORT_BACKTEST, C.ExportBacktest, _user(exports.export)),
        (C.STRATEGY_ANALYTICS, C.AnalyticsQuery, _user(a.strategy)),
        (C.COMPARE, C.CompareQuery, _user(a.compare)),
        (C.DRAWDOWN, C.AnalyticsQuery, _user(a.drawdown)),
        (C.DISTRIBUTION, C.AnalyticsQuery, _user(a.distribution)),
        (C.HEATMAP, C.AnalyticsQuery, _user(a.heatmap)),
    ]
    for subject, model, handler in table:
        micro.endpoint(subject, model, handler)

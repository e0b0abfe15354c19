"""Strategies, backtests and analytics over request/reply (`svc.backtest.<resource>.<action>`).

`HTTP_ROUTES` lists the gateway rows. Trade money is `Money` (exact rupees); metrics and
analytics are floats except the exact `netProfit`/`totalCharges`. Exports cross as base64.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, field_validator, model_validator

from . import subjects
from .api import ApiModel, ApiReply, Page, PageQuery
from .marketdata import Segment
from .types import Id, Money, UtcDateTime

SERVICE = "backtest"

CREATE_STRATEGY = subjects.svc(SERVICE, "strategy", "create")
LIST_STRATEGIES = subjects.svc(SERVICE, "strategy", "list")
GET_STRATEGY = subjects.svc(SERVICE, "strategy", "get")
UPDATE_STRATEGY = subjects.svc(SERVICE, "strategy", "update")
DELETE_STRATEGY = subjects.svc(SERVICE, "strategy", "delete")
CLONE_STRATEGY = subjects.svc(SERVICE, "strategy", "clone")
LIST_VERSIONS = subjects.svc(SERVICE, "strategy", "versions")
VALIDATE_RULES = subjects.svc(SERVICE, "strategy", "validate")

CREATE_BACKTEST = subjects.svc(SERVICE, "backtest", "create")
GET_BACKTEST = subjects.svc(SERVICE, "backtest", "get")
CANCEL_BACKTEST = subjects.svc(SERVICE, "backtest", "cancel")
BACKTEST_RESULTS = subjects.svc(SERVICE, "backtest", "results")
BACKTEST_HISTORY = subjects.svc(SERVICE, "backtest", "history")
EXPORT_BACKTEST = subjects.svc(SERVICE, "backtest", "export")

STRATEGY_ANALYTICS = subjects.svc(SERVICE, "analytics", "strategy")
COMPARE = subjects.svc(SERVICE, "analytics", "compare")
DRAWDOWN = subjects.svc(SERVICE, "analytics", "drawdown")
DISTRIBUTION = subjects.svc(SERVICE, "analytics", "distribution")
HEATMAP = subjects.svc(SERVICE, "analytics", "heatmap")

EXPORT_BUCKET = "backtest-exports"  # Object Store bucket of large exports (kept one hour)
JOB_SUBJECT = subjects.job("backtest")  # stream JOBS; body `contracts.events.backtest.BacktestJob`

Timeframe = Literal["1m", "5m", "15m", "1h", "1d"]
ProductType = Literal["intraday", "delivery"]
Direction = Literal["long", "short"]
StrategyStatus = Literal["draft", "backtested", "live", "archived"]
BacktestStatus = Literal["queued", "running", "completed", "failed", "cancelled"]

Percent = Annotated[  # e.g. a 2.5 % stop-loss; a decimal string on the wire
    Decimal,
    Field(gt=0, lt=100, max_digits=5, decimal_places=2),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]

_RULE = Field(min_length=1, max_length=4000)


class StrategyInstrument(ApiModel):
    """The instrument a strategy trades, by its Dhan identity plus the symbol for display."""

    segment: Segment
    security_id: str = Field(pattern=r"^[0-9A-Za-z_\-]{1,20}$")
    symbol: str = Field(min_length=1, max_length=64)


class StrategyFields(ApiModel):
    """Everything that defines a strategy; every edit stores these as a new version."""

    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=4000)
    instrument: StrategyInstrument
    timeframe: Timeframe
    entry_rule: str = _RULE
    exit_rule: str = _RULE
    stop_loss_pct: Percent | None = None
    target_pct: Percent | None = None
    position_size: int = Field(default=1, ge=1, le=1_000_000, description="shares or lots")
    max_positions: int = Field(default=1, ge=1, le=100)
    product_type: ProductType = "delivery"
    direction: Direction = "long"


class CreateStrategy(StrategyFields):
    """Create a strategy (status draft, version 1)."""


class UpdateStrategy(ApiModel):
    """Change fields as a new version: omitted keep their value, `stopLossPct: null` removes it."""

    id: Id
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=4000)
    instrument: StrategyInstrument | None = None
    timeframe: Timeframe | None = None
    entry_rule: str | None = Field(default=None, min_length=1, max_length=4000)
    exit_rule: str | None = Field(default=None, min_length=1, max_length=4000)
    stop_loss_pct: Percent | None = None
    target_pct: Percent | None = None
    position_size: int | None = Field(default=None, ge=1, le=1_000_000)
    max_positions: int | None = Field(default=None, ge=1, le=100)
    product_type: ProductType | None = None
    direction: Direction | None = None


class StrategyRef(ApiModel):
    """One strategy by id."""

    id: Id


class GetStrategy(ApiModel):
    """One strategy; `version` picks an older version (default: the current one)."""

    id: Id
    version: int | None = Field(default=None, ge=1)


class ListStrategies(PageQuery):
    """The acting user's strategies, newest first; archived ones only when asked by status."""

    status: StrategyStatus | None = None
    segment: Segment | None = None
    security_id: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_\-]{1,20}$")
    symbol: str | None = Field(default=None, min_length=1, max_length=64)
    search: str | None = Field(default=None, min_length=1, max_length=100,
                               description="case-insensitive match on name and description")


class Strategy(ApiReply):
    """A strategy as of one version."""

    id: str
    version_id: str
    version: int
    latest_version: int
    status: StrategyStatus
    name: str
    description: str
    instrument: StrategyInstrument
    timeframe: Timeframe
    entry_rule: str
    exit_rule: str
    stop_loss_pct: Percent | None = None
    target_pct: Percent | None = None
    position_size: int
    max_positions: int
    product_type: ProductType
    direction: Direction
    created_at: UtcDateTime
    updated_at: UtcDateTime


StrategyPage = Page[Strategy]


class StrategyVersion(ApiReply):
    """One stored version of a strategy."""

    version_id: str
    version: int
    created_at: UtcDateTime
    entry_rule: str
    exit_rule: str


class StrategyVersions(ApiReply):
    """Every version of a strategy, newest first."""

    id: str
    versions: list[StrategyVersion]


class StrategyDeleted(ApiReply):
    """A strategy referenced by backtests or deployments is archived instead of deleted."""

    id: str
    deleted: bool
    archived: bool


class ValidateRules(ApiModel):
    """Check rules as the user types; either or both may be sent."""

    entry_rule: str | None = Field(default=None, max_length=4000)
    exit_rule: str | None = Field(default=None, max_length=4000)


class RuleProblem(ApiReply):
    """One problem in a rule: 1-based line and column, end column exclusive."""

    line: int
    col: int
    end_col: int
    message: str


class RuleCheck(ApiReply):
    """The verdict on one rule; `lookback` is the bars it needs before its first signal."""

    valid: bool
    errors: list[RuleProblem]
    lookback: int | None = None


class RulesValidation(ApiReply):
    """The verdict on every rule sent."""

    valid: bool
    entry_rule: RuleCheck | None = None
    exit_rule: RuleCheck | None = None


class CreateBacktest(ApiModel):
    """Queue a backtest of a strategy version (default: the current one) over [fromDate, toDate]."""

    strategy_id: Id
    strategy_version_id: Id | None = None
    from_date: date
    to_date: date
    interval: Timeframe | None = Field(default=None, description="default: the strategy's timeframe")
    initial_capital: Money = Field(default=Decimal(100000), gt=0)
    costs: bool = True
    slippage_bps: float = Field(default=0.0, ge=0, le=500)

    @model_validator(mode="after")
    def _ordered(self) -> CreateBacktest:
        if self.from_date > self.to_date:
            raise ValueError("fromDate must not be after toDate")
        return self


class BacktestParams(ApiReply):
    """The parameters a backtest ran with (pinned at creation)."""

    from_date: date
    to_date: date
    interval: Timeframe
    initial_capital: Money
    costs: bool
    slippage_bps: float


class Backtest(ApiReply):
    """A backtest job and where it stands."""

    id: str
    strategy_id: str
    strategy_version_id: str
    strategy_version: int
    strategy_name: str
    status: BacktestStatus
    progress: int
    params: BacktestParams
    attempts: int = 0
    error: str | None = None
    metrics: dict[str, Any] | None = None
    created_at: UtcDateTime
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None


BacktestPage = Page[Backtest]


class BacktestRef(ApiModel):
    """One backtest by id."""

    id: Id


class BacktestHistoryQuery(PageQuery):
    """The acting user's backtests, newest first."""

    strategy_id: Id | None = None
    status: BacktestStatus | None = None


class GetResults(ApiModel):
    """Results of a completed backtest, trades paged."""

    id: Id
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=100, ge=1, le=1000)


class Trade(ApiReply):
    """One closed trade; times are IST-aware instants, money exact rupees."""

    seq: int
    entry_time: datetime
    exit_time: datetime
    side: Direction
    qty: int
    entry_price: Money
    exit_price: Money
    pnl_gross: Money
    charges: Money
    pnl_net: Money
    exit_reason: str
    holding_seconds: float


class EquityPoint(ApiReply):
    """Equity and drawdown at one bar's close (the curve is thinned to a bounded size)."""

    ts: datetime
    equity: float
    drawdown: float
    drawdown_pct: float


class BacktestResults(ApiReply):
    """Metrics (definitions in libs/backtesting/README.md), equity curve, one page of trades."""

    id: str
    status: BacktestStatus
    bars: int
    metrics: dict[str, Any]
    equity_curve: list[EquityPoint]
    trades: Page[Trade]


class ExportBacktest(ApiModel):
    """Export a completed backtest: CSV of trades or equity, or a PDF report."""

    id: Id
    format: Literal["csv", "pdf"] = "csv"
    part: Literal["trades", "equity"] = Field(default="trades", description="CSV only")


class ExportFile(ApiReply):
    """A file: inline as base64, or (too big for one NATS message) an object in `bucket`."""

    filename: str
    content_type: str
    size_bytes: int
    content_base64: str | None = None
    bucket: str | None = None
    object_name: str | None = None


class AnalyticsQuery(ApiModel):
    """Analytics of a strategy's latest completed backtest, or of `backtestId` (one of its own)."""

    id: Id
    backtest_id: Id | None = None


class StrategyAnalytics(ApiReply):
    """A strategy's performance: its latest completed backtest and a summary of all of them."""

    strategy_id: str
    strategy_name: str
    backtest_id: str | None
    backtests: int
    completed: int
    metrics: dict[str, Any] | None
    best_return_pct: float | None = None
    worst_return_pct: float | None = None


class CompareQuery(ApiModel):
    """Compare backtests and/or strategies (by their latest completed backtest); `a,b` lists too."""

    backtest_ids: list[Id] = Field(default_factory=list, max_length=20)
    strategy_ids: list[Id] = Field(default_factory=list, max_length=20)

    @field_validator("backtest_ids", "strategy_ids", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _some(self) -> CompareQuery:
        if not self.backtest_ids and not self.strategy_ids:
            raise ValueError("give backtestIds or strategyIds")
        return self


class ComparisonRow(ApiReply):
    """One backtest in a comparison."""

    backtest_id: str
    strategy_id: str
    strategy_name: str
    strategy_version: int
    params: BacktestParams
    metrics: dict[str, Any]


class Comparison(ApiReply):
    """Backtests side by side, in the order asked."""

    rows: list[ComparisonRow]


class DrawdownPeriod(ApiReply):
    """A run of bars below the running equity peak."""

    start: datetime
    trough: datetime
    recovery: datetime | None
    depth: float
    depth_pct: float
    duration_bars: int
    duration_seconds: float


class DrawdownAnalysis(ApiReply):
    """The deepest drawdown periods and the drawdown curve."""

    strategy_id: str
    backtest_id: str
    max_drawdown: float
    max_drawdown_pct: float
    periods: list[DrawdownPeriod]
    curve: list[EquityPoint]


class TradeDistribution(ApiReply):
    """Net trade P&L histogram (rupees) and counts by outcome and exit reason."""

    strategy_id: str
    backtest_id: str
    edges: list[float]
    counts: list[int]
    winners: int
    losers: int
    average_win: float | None
    average_loss: float | None
    largest_win: float | None
    largest_loss: float | None
    by_exit_reason: dict[str, int]


class ReturnsHeatmap(ApiReply):
    """Compounded returns (%) per cell: weekday × IST hour intraday, year × month daily."""

    strategy_id: str
    backtest_id: str
    kind: Literal["weekday_by_hour", "month_by_year"]
    rows: list[str]
    cols: list[str]
    values: list[list[float | None]]


@dataclass(frozen=True)
class Route:
    """One gateway HTTP route served by a backtest subject."""

    method: str
    path: str
    subject: str
    request: type[ApiModel]
    response: type[ApiReply]
    auth: str
    status: int = 200
    note: str = ""


HTTP_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/strategies", LIST_STRATEGIES, ListStrategies, StrategyPage, "user",
          note="query status, segment, securityId, symbol, search, page, pageSize"),
    Route("POST", "/api/strategies", CREATE_STRATEGY, CreateStrategy, Strategy, "user", 201),
    Route("POST", "/api/strategies/validate", VALIDATE_RULES, ValidateRules, RulesValidation,
          "user", note="200 even when invalid; errors carry line/col/endCol"),
    Route("GET", "/api/strategies/{id}", GET_STRATEGY, GetStrategy, Strategy, "user",
          note="query version (optional)"),
    Route("GET", "/api/strategies/{id}/versions", LIST_VERSIONS, StrategyRef, StrategyVersions, "user"),
    Route("PUT", "/api/strategies/{id}", UPDATE_STRATEGY, UpdateStrategy, Strategy, "user"),
    Route("DELETE", "/api/strategies/{id}", DELETE_STRATEGY, StrategyRef, StrategyDeleted, "user"),
    Route("POST", "/api/strategies/{id}/clone", CLONE_STRATEGY, StrategyRef, Strategy, "user", 201),
    Route("POST", "/api/backtests", CREATE_BACKTEST, CreateBacktest, Backtest, "user", 202),
    Route("GET", "/api/backtests/history", BACKTEST_HISTORY, BacktestHistoryQuery, BacktestPage,
          "user", note="register before /api/backtests/{id}"),
    Route("GET", "/api/backtests/{id}", GET_BACKTEST, BacktestRef, Backtest, "user"),
    Route("POST", "/api/backtests/{id}/cancel", CANCEL_BACKTEST, BacktestRef, Backtest, "user"),
    Route("GET", "/api/backtests/{id}/results", BACKTEST_RESULTS, GetResults, BacktestResults,
          "user", note="query page, pageSize (trades)"),
    Route("POST", "/api/backtests/{id}/export", EXPORT_BACKTEST, ExportBacktest, ExportFile,
          "user", note="query or body format=csv|pdf, part=trades|equity; reply is a file"),
    Route("GET", "/api/backtests/{id}/export", EXPORT_BACKTEST, ExportBacktest, ExportFile,
          "user", note="same as POST, for plain download links"),
    Route("GET", "/api/analytics/strategy/{id}", STRATEGY_ANALYTICS, AnalyticsQuery,
          StrategyAnalytics, "user", note="query backtestId (optional)"),
    Route("GET", "/api/analytics/compare", COMPARE, CompareQuery, Comparison, "user",
          note="query backtestIds=a,b and/or strategyIds=c,d"),
    Route("GET", "/api/analytics/drawdown/{id}", DRAWDOWN, AnalyticsQuery, DrawdownAnalysis,
          "user", note="id = strategy id; query backtestId (optional)"),
    Route("GET", "/api/analytics/distribution/{id}", DISTRIBUTION, AnalyticsQuery,
          TradeDistribution, "user", note="id = strategy id; query backtestId (optional)"),
    Route("GET", "/api/analytics/heatmap/{id}", HEATMAP, AnalyticsQuery, ReturnsHeatmap, "user",
          note="id = strategy id; query backtestId (optional)"),
)

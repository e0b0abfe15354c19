"""Deployments, execution logs, strategy trades and the user kill switch (service `execution`).

Subjects are `svc.execution.<resource>.<action>`; `HTTP_ROUTES` lists the gateway rows, so the
gateway maps paths to subjects from data. Money is `Money` (Decimal rupees, JSON strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from . import subjects
from .api import ApiModel, ApiReply, Page, PageQuery
from .types import Id, Money, Price, UtcDateTime

SERVICE = "execution"

CREATE_DEPLOYMENT = subjects.svc(SERVICE, "deployment", "create")
LIST_DEPLOYMENTS = subjects.svc(SERVICE, "deployment", "list")
GET_DEPLOYMENT = subjects.svc(SERVICE, "deployment", "get")
PAUSE_DEPLOYMENT = subjects.svc(SERVICE, "deployment", "pause")
RESUME_DEPLOYMENT = subjects.svc(SERVICE, "deployment", "resume")
STOP_DEPLOYMENT = subjects.svc(SERVICE, "deployment", "stop")
DEPLOYMENT_LOGS = subjects.svc(SERVICE, "deployment", "logs")
LIST_TRADES = subjects.svc(SERVICE, "trade", "list")
GET_TRADE = subjects.svc(SERVICE, "trade", "get")
KILL_SWITCH = subjects.svc(SERVICE, "killswitch", "activate")

DeploymentStatus = Literal["active", "paused", "stopped", "halted", "error"]
LogKind = Literal["signal", "refusal", "order", "halt", "info"]


class CreateDeployment(ApiModel):
    """Deploy a pinned strategy version to a linked account (Dhan or paper).

    `quantity` defaults to the strategy's position size (shares or lots); `maxPositions` to the
    strategy's. Live (Dhan) accounts need `riskAcknowledged: true`.
    """

    strategy_id: Id
    strategy_version: int | None = Field(default=None, ge=1, description="default: current")
    account_id: Id
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    max_positions: int | None = Field(default=None, ge=1, le=100)
    max_quantity: int | None = Field(default=None, ge=1, le=10_000_000,
                                     description="largest position size in units")
    max_notional: Money | None = Field(default=None, gt=0)
    daily_loss_limit: Money | None = Field(default=None, gt=0)
    account_daily_loss_limit: Money | None = Field(default=None, gt=0)
    risk_acknowledged: bool = False


class DeploymentRef(ApiModel):
    """Name one deployment."""

    id: Id


class ListDeployments(PageQuery):
    """The acting user's deployments, newest first."""

    status: DeploymentStatus | None = None
    strategy_id: Id | None = None


class DeploymentStats(ApiReply):
    """Live numbers of one deployment."""

    total_orders: int = 0
    successful_orders: int = 0
    failed_orders: int = 0
    open_positions: int = 0
    net_quantity: int = 0
    realized_pnl: Money = Field(default=0)
    unrealized_pnl: Money = Field(default=0)
    total_pnl: Money = Field(default=0)
    last_price: Price | None = None
    last_bar_at: UtcDateTime | None = None


class Deployment(ApiReply):
    """A deployment as the user sees it."""

    id: str
    strategy_id: str
    strategy_version: int
    strategy_version_id: str
    name: str
    account_id: str
    broker: str
    segment: str
    security_id: str
    symbol: str
    timeframe: str
    product: str
    direction: str
    quantity: int
    max_positions: int
    max_quantity: int | None = None
    max_notional: Money | None = None
    daily_loss_limit: Money | None = None
    account_daily_loss_limit: Money | None = None
    status: DeploymentStatus
    entries_paused: str | None = Field(default=None, description="why new entries are held")
    error_message: str | None = None
    deployed_at: UtcDateTime
    paused_at: UtcDateTime | None = None
    stopped_at: UtcDateTime | None = None
    stats: DeploymentStats = Field(default_factory=DeploymentStats)


DeploymentPage = Page[Deployment]


class DeploymentLogsQuery(PageQuery):
    """One deployment's execution log, newest first."""

    id: Id
    kind: LogKind | None = None


class ExecutionLog(ApiReply):
    """One evaluation that produced a signal or a refusal, or an engine action."""

    id: int
    deployment_id: str
    ts: UtcDateTime
    kind: LogKind
    action: str
    message: str
    reasons: list[str] = Field(default_factory=list)
    bar: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    intent_id: str | None = None
    created_at: UtcDateTime


ExecutionLogPage = Page[ExecutionLog]


class ListStrategyTrades(PageQuery):
    """The acting user's strategy trades (entry and exit pairs), newest first."""

    deployment_id: Id | None = None
    status: Literal["open", "closed"] | None = None


class TradeRef(ApiModel):
    """Name one strategy trade."""

    id: Id


class StrategyTrade(ApiReply):
    """One round trip of a deployment: entry fill, exit fill, P&L, holding time."""

    id: str
    deployment_id: str
    strategy_id: str
    account_id: str
    segment: str
    security_id: str
    symbol: str
    direction: str
    quantity: int
    open_quantity: int
    entry_price: Price | None = None
    exit_price: Price | None = None
    entry_time: UtcDateTime | None = None
    exit_time: UtcDateTime | None = None
    stop_loss: Price | None = None
    target: Price | None = None
    pnl: Money | None = None
    pnl_percent: float | None = None
    unrealized_pnl: Money | None = None
    holding_seconds: int | None = None
    holding_duration: int | None = Field(default=None, description="minutes (seed)")
    status: Literal["pending", "open", "closed"]
    exit_reason: str | None = None
    entry_intent_id: str
    exit_intent_id: str | None = None


StrategyTradePage = Page[StrategyTrade]


class ActivateKillSwitch(ApiModel):
    """Stop every deployment of the user, cancel their open orders, flatten their positions."""

    broker_kill_switch: bool = Field(
        default=False, description="also switch the broker's own kill switch on every account")
    reason: str = Field(default="", max_length=200)


class KillSwitchResult(ApiReply):
    """What the kill switch did."""

    stopped_deployments: int
    exit_intents: int
    cancelled_orders: int
    broker_accounts: dict[str, bool] = Field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One gateway HTTP route served by an execution subject."""

    method: str
    path: str
    subject: str
    request: type[ApiModel]
    response: type[ApiReply]
    auth: str
    status: int = 200
    note: str = ""


HTTP_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/deployments", LIST_DEPLOYMENTS, ListDeployments, DeploymentPage, "user",
          note="query status, strategyId, page, pageSize"),
    Route("POST", "/api/deployments", CREATE_DEPLOYMENT, CreateDeployment, Deployment,
          "verified", 201),
    Route("GET", "/api/deployments/{id}", GET_DEPLOYMENT, DeploymentRef, Deployment, "user"),
    Route("PUT", "/api/deployments/{id}/pause", PAUSE_DEPLOYMENT, DeploymentRef, Deployment,
          "user"),
    Route("PUT", "/api/deployments/{id}/resume", RESUME_DEPLOYMENT, DeploymentRef, Deployment,
          "verified"),
    Route("DELETE", "/api/deployments/{id}", STOP_DEPLOYMENT, DeploymentRef, Deployment, "user"),
    Route("GET", "/api/deployments/{id}/logs", DEPLOYMENT_LOGS, DeploymentLogsQuery,
          ExecutionLogPage, "user", note="query kind, page, pageSize"),
    Route("GET", "/api/trades", LIST_TRADES, ListStrategyTrades, StrategyTradePage, "user",
          note="query deploymentId, status, page, pageSize"),
    Route("GET", "/api/trades/{id}", GET_TRADE, TradeRef, StrategyTrade, "user"),
    Route("POST", "/api/killswitch", KILL_SWITCH, ActivateKillSwitch, KillSwitchResult, "user"),
)

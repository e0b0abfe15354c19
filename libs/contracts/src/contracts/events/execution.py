"""The execution service's user events: signals, refusals, deployments, strategy trades.

Signals go to `evt.<userId>.signal.<generated|refused>`, deployment changes to
`evt.<userId>.deployment.<started|stopped|paused|resumed|halted|entries_paused|entries_resumed>`,
trades to `evt.<userId>.trade.<opened|closed>`. Prices and money are integer paise.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from .base import Event

SIGNAL_DOMAIN = "signal"
DEPLOYMENT_DOMAIN = "deployment"
TRADE_DOMAIN = "trade"


class BarSnapshot(msgspec.Struct, kw_only=True, rename="camel"):
    """The closed bar an evaluation ran on (paise)."""

    interval: str
    start: datetime
    end: datetime
    open: int
    high: int
    low: int
    close: int
    volume: int = 0


class SignalEvent(Event, kw_only=True):
    """Fields every signal event carries: what, on which bar, and why."""

    deployment_id: str
    user_id: str
    strategy_id: str
    account_id: str
    segment: str
    security_id: str
    action: str  # entry | exit | stop_loss | target | square_off | kill_switch
    side: str  # BUY | SELL
    quantity: int
    rule: str = ""  # the rule text (or the level) that decided
    outcome: bool = True
    bar: BarSnapshot | None = None
    price: int | None = None  # the tick price that crossed a level
    values: dict[str, float | bool | None] = {}


class SignalGenerated(SignalEvent, kw_only=True):
    """A rule fired and passed the risk checks; `intentId` is the order it sent."""

    intent_id: str


class SignalRefused(SignalEvent, kw_only=True):
    """A rule fired but a risk check refused the order; `reasons` say why."""

    reasons: list[str]


class DeploymentEvent(Event, kw_only=True):
    """Fields every deployment event carries (the backtest service reads a subset)."""

    deployment_id: str
    strategy_id: str
    strategy_version_id: str
    user_id: str
    account_id: str
    status: str
    reason: str = ""


class DeploymentStarted(DeploymentEvent, kw_only=True):
    """A deployment was created and is trading."""


class DeploymentStopped(DeploymentEvent, kw_only=True):
    """A deployment stopped for good (by the user or the kill switch)."""


class DeploymentPaused(DeploymentEvent, kw_only=True):
    """A deployment stopped taking new entries; exits and stops still run."""


class DeploymentResumed(DeploymentEvent, kw_only=True):
    """A paused deployment trades again."""


class DeploymentHalted(DeploymentEvent, kw_only=True):
    """The engine stopped a deployment: a reconciliation mismatch or an error (an alert)."""


class EntriesPaused(DeploymentEvent, kw_only=True):
    """New entries are held: the feed of the instrument is stale, or a loss limit was hit."""


class EntriesResumed(DeploymentEvent, kw_only=True):
    """New entries are allowed again."""


DEPLOYMENT_EVENT_NAMES: dict[type[DeploymentEvent], str] = {
    DeploymentStarted: "started",
    DeploymentStopped: "stopped",
    DeploymentPaused: "paused",
    DeploymentResumed: "resumed",
    DeploymentHalted: "halted",
    EntriesPaused: "entries_paused",
    EntriesResumed: "entries_resumed",
}


class TradeEvent(Event, kw_only=True):
    """A strategy trade opened (entry filled) or closed (exit filled)."""

    trade_id: str
    deployment_id: str
    user_id: str
    security_id: str
    direction: str
    quantity: int
    entry_price: int | None = None
    exit_price: int | None = None
    pnl: int | None = None
    exit_reason: str | None = None


class TradeOpened(TradeEvent, kw_only=True):
    """An entry order filled."""


class TradeClosed(TradeEvent, kw_only=True):
    """An exit order filled; `pnl` is realized (gross, paise)."""


TRADE_EVENT_NAMES: dict[type[TradeEvent], str] = {TradeOpened: "opened", TradeClosed: "closed"}

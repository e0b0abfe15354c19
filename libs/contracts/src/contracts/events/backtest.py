"""Backtest jobs (`job.backtest`, stream JOBS) and the backtest service's user events.

Backtest events go to `evt.<userId>.backtest.<name>`, strategy events to
`evt.<userId>.strategy.<name>`; the names are in `BACKTEST_EVENT_NAMES` /
`STRATEGY_EVENT_NAMES`. Metrics in events are floats (analytics); money in paise.
"""

from __future__ import annotations

from datetime import date

import msgspec

from .base import Event

BACKTEST_DOMAIN = "backtest"
STRATEGY_DOMAIN = "strategy"
DEPLOYMENT_DOMAIN = "deployment"


class BacktestJob(msgspec.Struct, kw_only=True, rename="camel"):
    """One backtest to run; published with Nats-Msg-Id = backtest id.

    Carries everything the worker needs besides the bars, so a worker never reads a strategy
    that was edited after the backtest was queued.
    """

    backtest_id: str
    user_id: str
    strategy_id: str
    strategy_version_id: str
    segment: str
    security_id: str
    symbol: str
    interval: str
    from_date: date
    to_date: date
    entry_rule: str
    exit_rule: str
    stop_loss_pct: float | None = None
    target_pct: float | None = None
    quantity: int = 1
    max_positions: int = 1
    product: str = "delivery"  # intraday | delivery
    direction: str = "long"  # long | short
    initial_capital_paise: int = 10_000_000
    costs: bool = True
    slippage_bps: float = 0.0
    version: int = 1


class BacktestEvent(Event, kw_only=True):
    """Fields every backtest event carries."""

    backtest_id: str
    user_id: str
    strategy_id: str
    strategy_version_id: str


class BacktestQueued(BacktestEvent, kw_only=True):
    """A backtest was accepted and its job queued."""


class BacktestProgressed(BacktestEvent, kw_only=True):
    """A worker moved a backtest forward (`percent` 0-100, `stage` names the step)."""

    percent: int
    stage: str = ""


class BacktestCompleted(BacktestEvent, kw_only=True):
    """Results are stored; read them with the results query."""

    total_trades: int = 0
    net_profit_paise: int = 0
    total_return_pct: float | None = None


class BacktestFailed(BacktestEvent, kw_only=True):
    """The backtest cannot complete; `reason` says why."""

    reason: str


class BacktestCancelled(BacktestEvent, kw_only=True):
    """The user cancelled the backtest before it completed."""


class StrategyStatusChanged(Event, kw_only=True):
    """A strategy moved between draft, backtested, live and archived."""

    strategy_id: str
    user_id: str
    old_status: str
    new_status: str
    reason: str = ""


BACKTEST_EVENT_NAMES: dict[type[BacktestEvent], str] = {
    BacktestQueued: "queued",
    BacktestProgressed: "progress",
    BacktestCompleted: "completed",
    BacktestFailed: "failed",
    BacktestCancelled: "cancelled",
}
STRATEGY_EVENT_NAMES: dict[type[Event], str] = {StrategyStatusChanged: "status_changed"}


class DeploymentChanged(msgspec.Struct, kw_only=True, rename="camel"):
    """What the backtest service reads from `evt.<userId>.deployment.<name>` (names below).

    The execution service owns the full event; this is the subset the strategy status
    needs, and readers ignore the rest.
    """

    event_id: str
    deployment_id: str
    strategy_id: str
    user_id: str
    strategy_version_id: str | None = None


DEPLOYMENT_RUNNING = ("started", "resumed")
"""Event names after which a deployment runs (a paused one still runs its exits)."""
DEPLOYMENT_ENDED = ("stopped", "halted")
"""Event names after which a deployment no longer runs."""

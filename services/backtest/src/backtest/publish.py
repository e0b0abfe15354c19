"""Build user events and put them in the outbox (same transaction as the state change)."""

from __future__ import annotations

from typing import Any

import asyncpg
from contracts import subjects
from contracts.events import encode, new_event_fields
from contracts.events.backtest import (
    BACKTEST_DOMAIN,
    BACKTEST_EVENT_NAMES,
    STRATEGY_DOMAIN,
    BacktestEvent,
    StrategyStatusChanged,
)
from svckit.clock import Clock
from svckit.outbox import enqueue


def backtest_event(cls: type[BacktestEvent], row: Any, clock: Clock, **extra: Any) -> BacktestEvent:
    """Build a backtest event from a backtest row (or a mapping with the same keys)."""
    return cls(**new_event_fields(now=clock.now()), backtest_id=str(row["id"]),
               user_id=row["user_id"], strategy_id=str(row["strategy_id"]),
               strategy_version_id=str(row["strategy_version_id"]), **extra)


def backtest_subject(event: BacktestEvent) -> str:
    """Return `evt.<userId>.backtest.<name>` of an event."""
    return subjects.user_event(event.user_id, BACKTEST_DOMAIN, BACKTEST_EVENT_NAMES[type(event)])


async def emit_backtest(conn: asyncpg.Connection, event: BacktestEvent) -> None:
    """Queue a backtest event in the caller's transaction."""
    await enqueue(conn, backtest_subject(event), event)


async def emit_status(conn: asyncpg.Connection, clock: Clock, user_id: str, sid: Any, old: str,
                      new: str, reason: str) -> None:
    """Queue a StrategyStatusChanged when the status really changed."""
    if old == new:
        return
    event = StrategyStatusChanged(**new_event_fields(now=clock.now()), strategy_id=str(sid),
                                  user_id=user_id, old_status=old, new_status=new, reason=reason)
    await enqueue(conn, subjects.user_event(user_id, STRATEGY_DOMAIN, "status_changed"), event)


def encoded(event: BacktestEvent) -> bytes:
    """Serialise an event for a direct publish."""
    return encode(event)

"""Backtest service settings (env prefix BACKTEST_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings


class BacktestSettings(ServiceSettings):
    """Everything the backtest service needs."""

    model_config = SettingsConfigDict(env_prefix="BACKTEST_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "backtest"

    workers: int = 2
    """Backtests one process runs at the same time (the JOBS pull consumer's concurrency)."""
    job_ack_wait_s: float = 30.0
    """A job not acknowledged (nor marked in progress) for this long is redelivered."""
    job_heartbeat_s: float = 5.0
    """How often a running job sends an in-progress ack (well under `job_ack_wait_s`)."""
    job_max_deliver: int = 5
    """Deliveries before a job that keeps crashing its worker is marked failed."""
    stale_job_s: float | None = None
    """A running backtest silent this long is failed (default: ack wait x (max deliver + 1) + 60 s)."""
    history_timeout_s: float = 120.0
    """How long to wait for marketdata's bulk-history export (it may backfill from Dhan)."""
    equity_points: int = 2000
    """The stored equity curve is thinned to at most this many points (metrics use every bar)."""
    export_inline_max_bytes: int = 512 * 1024
    """Exports larger than this (before base64) go to the Object Store instead of the reply."""
    consume_deployments: bool = True
    """Follow deployment started/stopped events to mark strategies live."""

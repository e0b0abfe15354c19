"""Brokerage's own Prometheus metrics (the alerts in deploy/k8s/components/monitoring use them)."""

from __future__ import annotations

import asyncio

import asyncpg
from contracts.brokerage import AccountStatus
from prometheus_client import Counter, Gauge
from svckit.logging import get_logger

log = get_logger(__name__)

ORDERS = Counter("brokerage_orders", "Order state changes recorded, by the new status",
                 ["status"])
ACCOUNTS = Gauge("brokerage_accounts", "Linked brokerage accounts, by status", ["status"])


async def count_accounts(pool: asyncpg.Pool) -> None:
    """Set `brokerage_accounts{status}` from the table (every status, zero included)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM accounts GROUP BY status")
    found = {r["status"]: r["n"] for r in rows}
    for status in {s.value for s in AccountStatus} | set(found):
        ACCOUNTS.labels(status).set(found.get(status, 0))


async def count_accounts_forever(pool: asyncpg.Pool, interval_s: float = 15.0) -> None:
    """Refresh the account gauge periodically (a background task)."""
    while True:
        try:
            await count_accounts(pool)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("metrics.accounts_failed", error=str(exc))
        await asyncio.sleep(interval_s)

"""Reconciliation: settle orders of unknown outcome and catch what the order socket missed.

Runs once at start (orders a crash left in `received`/`sending`) and then periodically.
"""

from __future__ import annotations

import contextlib
from typing import Any

from contracts.orders import OrderStatus as S
from svckit.clock import ist
from svckit.logging import get_logger

from . import repository as repo
from .adapters.base import BrokerAuthFailed, BrokerOrder, BrokerRejected, BrokerRetryable
from .errors import TryLater
from .ordering import Orders

log = get_logger(__name__)


class Reconciler:
    """Drive every open order of every account to the broker's truth."""

    def __init__(self, orders: Orders) -> None:
        self.o = orders

    async def reconcile(self) -> None:
        """Settle every order whose outcome is not final (on start and periodically)."""
        async with self.o.pool.acquire() as conn:
            rows = await repo.open_orders(conn)
        by_account: dict[str, list[Any]] = {}
        for row in rows:
            by_account.setdefault(str(row["account_id"]), []).append(row)
        for account_id, orders in by_account.items():
            try:
                await self._reconcile_account(account_id, orders)
            except TryLater:
                pass
            except (BrokerRetryable, BrokerRejected) as exc:
                log.info("reconcile.skipped", account_id=account_id, code=exc.code)
            except BrokerAuthFailed:
                await self.o.reauth(account_id)

    async def _reconcile_account(self, account_id: str, orders: list[Any]) -> None:
        for row in orders:
            if row["status"] in (S.RECEIVED, S.SENDING):
                with contextlib.suppress(TryLater):
                    await self.o.submit(row["intent_id"])
        if orders[0]["broker"] != "dhan":
            return
        async with self.o.pool.acquire() as conn:
            account = await repo.get_account(conn, account_id)
        if account is None or account["status"] != "active":
            return
        adapter = self.o.brokers.adapter(account)
        book = {o.broker_order_id: o for o in await adapter.orders()}
        today = ist(self.o.clock.now()).date()
        for row in orders:
            if not row["broker_order_id"]:
                continue
            found = book.get(row["broker_order_id"])
            if found is None and ist(row["intent_ts"]).date() < today:
                # Dhan's book holds today only; a day order gone from it ended with its day.
                found = await adapter.get_order(row["broker_order_id"]) or BrokerOrder(
                    row["broker_order_id"], "EXPIRED",
                    reason="Not in the broker's order book after its trading day ended")
            if found is not None:
                await self.o.on_update(account_id, found)

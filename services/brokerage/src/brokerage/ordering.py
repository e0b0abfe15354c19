"""Orders exactly once (ARCHITECTURE.md §4): store, send once, ask before any resend.

An order row exists before anything is sent. `submit` marks it `sending` (committed), POSTs
with correlationId = intent id, and records the answer. Whenever the outcome of a send is
unknown, the next step is always a lookup by correlation id; a resend happens only when the
broker provably has no such order (after a 5xx answer, or once `settle_s` has passed since
a send that got no answer). Broker reports (order socket, reconciliation, paper fills) go
through one state machine, and every change leaves an event in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from contracts.events import orders as ev
from contracts.orders import OrderStatus as S
from svckit.clock import Clock, ist
from svckit.logging import get_logger

from . import publish
from . import repository as repo
from .adapters.base import (
    BrokerAuthFailed,
    BrokerOrder,
    BrokerRejected,
    BrokerRetryable,
    BrokerTrade,
    BrokerUnknownOutcome,
    OrderRequest,
)
from .adapters.paper.broker import PaperAdapter
from .adapters.paper.charges import charges
from .adapters.resilience import backoff
from .brokers import Brokers
from .domain import OrderState, apply_update, can_resend, is_stale
from .errors import TryLater
from .settings import BrokerageSettings

log = get_logger(__name__)


def _lock_key(intent_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"intent:{intent_id}".encode()).digest()[:8], "big",
                          signed=True)


class Orders:
    """The order lifecycle of every account."""

    def __init__(self, pool: asyncpg.Pool, brokers: Brokers, clock: Clock,
                 settings: BrokerageSettings) -> None:
        self.pool = pool
        self.brokers = brokers
        self.clock = clock
        self.s = settings

    # --- intake --------------------------------------------------------------------------

    async def store(self, *, intent_id: str, user_id: str, account_ref: str, account: Any,
                    source: str, intent_ts: Any, fields: dict[str, Any],
                    refuse: str | None = None) -> tuple[Any, bool]:
        """Store an order for an intent; refuse it (with an event) if stale or untradable.

        Return (row, is_new). A second delivery of the same intent returns the stored row.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.order_by_intent(conn, intent_id)
            if row is not None:
                return row, False
            status, reason = S.RECEIVED, None
            if is_stale(intent_ts, self.clock.now(), self.s.stale_intent_s):
                status, reason = S.STALE, (f"Intent is older than {self.s.stale_intent_s:g}s"
                                           " and was not sent")
            elif account is None:
                await self._refuse_unknown_account(conn, intent_id, user_id, account_ref, fields)
                return None, False
            elif refuse:
                status, reason = S.REJECTED, refuse
            elif account["kill_switch"]:
                status, reason = S.REJECTED, "Kill switch is active on this account"
            elif account["status"] != "active":
                status, reason = S.REJECTED, f"Account is {account['status']}"
            row = await repo.insert_order(
                conn, id=uuid.uuid4(), intent_id=intent_id, user_id=user_id,
                account_id=account["id"], source=source,
                intent_ts=intent_ts, status=status.value, reason=reason, **fields)
            if row is None:
                return await repo.order_by_intent(conn, intent_id), False
            if status is S.STALE:
                await publish.order(conn, ev.OrderStale, row, self.clock)
            elif status is S.REJECTED:
                await publish.order(conn, ev.OrderRejected, row, self.clock)
            return row, True

    async def _refuse_unknown_account(self, conn: asyncpg.Connection, intent_id: str,
                                      user_id: str, account_ref: str,
                                      fields: dict[str, Any]) -> None:
        """Publish a rejection for an intent naming an account the user does not have."""
        row = {"id": uuid.UUID(int=0), "intent_id": intent_id, "user_id": user_id,
               "account_id": account_ref, "broker_order_id": None,
               "filled_quantity": 0, "average_price": None, "status": S.REJECTED.value,
               "reason": "Brokerage account not found", "deployment_id": None, "tag": None,
               **fields}
        await publish.order(conn, ev.OrderRejected, row, self.clock)

    # --- sending -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self, intent_id: str) -> AsyncIterator[bool]:
        """Hold a session advisory lock so one sender per intent exists across instances."""
        async with self.pool.acquire() as conn:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(intent_id))
            try:
                yield got
            finally:
                if got:
                    await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(intent_id))

    async def submit(self, intent_id: str) -> None:
        """Bring a stored order to the broker exactly once (raise TryLater to come back)."""
        async with self._exclusive(intent_id) as got:
            if not got:
                raise TryLater("Another sender holds this intent", delay_s=1.0)
            await self._submit_locked(intent_id)

    async def _submit_locked(self, intent_id: str) -> None:
        async with self.pool.acquire() as conn:
            row = await repo.order_by_intent(conn, intent_id)
            account = await repo.get_account(conn, str(row["account_id"])) if row else None
        if row is None or row["status"] not in (S.RECEIVED, S.SENDING):
            return
        if row["status"] == S.RECEIVED and is_stale(row["intent_ts"], self.clock.now(),
                                                     self.s.stale_intent_s):
            await self.stale(row)
            return
        if account is None or account["status"] != "active":
            if row["status"] == S.RECEIVED:
                await self._finish(row, S.REJECTED, "Account cannot trade now")
            return
        adapter = self.brokers.adapter(account)
        req = OrderRequest(
            correlation_id=intent_id, security_id=row["security_id"],
            exchange_segment=row["exchange_segment"], transaction_type=row["transaction_type"],
            quantity=row["quantity"], order_type=row["order_type"],
            product_type=row["product_type"], validity=row["validity"], price=row["price"],
            trigger_price=row["trigger_price"])
        sending = row["status"] == S.SENDING
        sent_age = row["sent_age_s"]
        answered = False
        for attempt in range(self.s.retry_attempts):
            if sending:
                try:
                    found = await adapter.find_by_correlation(intent_id)
                except BrokerAuthFailed:
                    await self.reauth(str(account["id"]))
                    return
                except BrokerRetryable:
                    await asyncio.sleep(backoff(attempt, self.s.backoff_base_s, self.s.backoff_cap_s))
                    continue
                if found is not None:
                    await self.on_ack(str(account["id"]), row, found, adapter)
                    return
                if not can_resend(float(sent_age) if sent_age is not None else None,
                                  self.s.settle_s, answered):
                    raise TryLater("Waiting for an unanswered send to settle",
                                   delay_s=max(0.5, self.s.settle_s / 4))
            async with self.pool.acquire() as conn:
                await repo.mark_sending(conn, row["id"])
            sending, sent_age, answered = True, 0.0, False
            try:
                ack = await adapter.place(req)
            except BrokerUnknownOutcome as exc:
                answered = exc.answered
                log.warning("order.outcome_unknown", intent_id=intent_id, code=exc.code)
            except BrokerRetryable as exc:
                answered = True  # refused before acceptance (429, unreachable, circuit open)
                log.info("order.send_retry", intent_id=intent_id, code=exc.code)
            except BrokerRejected as exc:
                await self._finish(row, S.REJECTED, exc.message)
                return
            except BrokerAuthFailed:
                await self.reauth(str(account["id"]))
                await self._finish(row, S.FAILED, "The broker refused the login; link the account again")
                return
            else:
                await self.on_ack(str(account["id"]), row, ack, adapter)
                return
            await asyncio.sleep(backoff(attempt, self.s.backoff_base_s, self.s.backoff_cap_s))
        raise TryLater("Broker unavailable; the order will be checked again", delay_s=2.0)

    async def on_ack(self, account_id: str, row: Any, ack: BrokerOrder, adapter: Any) -> None:
        """Record the broker's answer to a send (or a lookup that found the order)."""
        await self.on_update(account_id, ack, intent_id=row["intent_id"])
        if isinstance(adapter, PaperAdapter):
            await adapter.fill_now(ack.broker_order_id)

    async def _finish(self, row: Any, status: S, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            current = await repo.get_order(conn, str(row["id"]), lock=True)
            if current["status"] not in (S.RECEIVED, S.SENDING):
                return
            done = await repo.update_order(conn, row["id"], status=status.value, reason=reason)
            cls = ev.OrderRejected if status is S.REJECTED else ev.OrderFailed
            await publish.order(conn, cls, done, self.clock)

    # --- broker reports ------------------------------------------------------------------

    async def on_update(self, account_id: str, update: BrokerOrder, *, intent_id: str | None = None,
                        trade: BrokerTrade | None = None) -> None:
        """Apply one broker report to the stored order (state machine, fills, event)."""
        new_fill = False
        async with self.pool.acquire() as conn, conn.transaction():
            row = None
            if update.broker_order_id:
                row = await repo.order_by_broker_id(conn, account_id, update.broker_order_id,
                                                    lock=True)
            cid = intent_id or update.correlation_id
            if row is None and cid:
                row = await repo.order_by_intent(conn, cid, lock=True)
                if row is not None and str(row["account_id"]) != account_id:
                    row = None
            if row is None:
                return  # an order placed outside the platform
            if row["broker_order_id"] is None and update.broker_order_id:
                row = await repo.update_order(conn, row["id"],
                                              broker_order_id=update.broker_order_id)
            if trade is not None:
                await self._record_trade(conn, row, trade)
            state = OrderState(S(row["status"]), row["quantity"], row["filled_quantity"],
                               row["average_price"])
            t = apply_update(state, update.status, update.filled_quantity, update.average_price,
                             update.reason)
            if t is None:
                return
            row = await repo.update_order(conn, row["id"], status=t.status.value,
                                          filled_quantity=t.filled, average_price=t.average_price,
                                          reason=t.reason or row["reason"])
            await publish.order(conn, t.event, row, self.clock,
                                last_fill_quantity=t.last_fill_quantity,
                                last_fill_price=update.last_fill_price if t.last_fill_quantity
                                else None)
            new_fill = t.last_fill_quantity > 0 and trade is None
        if new_fill and row["broker_order_id"] and not row["broker_order_id"].startswith("P"):
            await self.sync_trades(account_id, row)

    async def sync_trades(self, account_id: str, row: Any) -> None:
        """Fetch and store the fills of one Dhan order."""
        async with self.pool.acquire() as conn:
            account = await repo.get_account(conn, account_id)
        if account is None or account["status"] != "active":
            return
        try:
            fills = await self.brokers.adapter(account).trades(row["broker_order_id"])
        except (BrokerRetryable, BrokerRejected) as exc:
            log.info("order.trades_unavailable", code=getattr(exc, "code", ""))
            return
        except BrokerAuthFailed:
            await self.reauth(account_id)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            for fill in fills:
                await self._record_trade(conn, row, fill)

    async def _record_trade(self, conn: asyncpg.Connection, row: Any, fill: BrokerTrade) -> None:
        cost = fill.charges
        if not cost:
            cost = charges(segment=fill.exchange_segment or row["exchange_segment"],
                           product=fill.product_type or row["product_type"],
                           side=fill.transaction_type or row["transaction_type"],
                           quantity=fill.quantity, price=fill.price,
                           on=ist(self.clock.now()).date())
        await repo.insert_trade(
            conn, id=uuid.uuid4(), order_id=row["id"], account_id=row["account_id"],
            user_id=row["user_id"], broker_trade_id=fill.broker_trade_id or
            f"{fill.broker_order_id}-{fill.quantity}-{fill.price}",
            security_id=row["security_id"], exchange_segment=row["exchange_segment"],
            transaction_type=row["transaction_type"], product_type=row["product_type"],
            quantity=fill.quantity, price=fill.price, charges=cost, traded_at=fill.traded_at)

    async def on_paper(self, account_id: str, update: BrokerOrder, trade: BrokerTrade | None) -> None:
        """Sink of the paper exchange."""
        await self.on_update(account_id, update, trade=trade)

    # --- account health ------------------------------------------------------------------

    async def reauth(self, account_id: str) -> None:
        """Move an account to reauth_required; only the first caller publishes the event."""
        async with self.pool.acquire() as conn, conn.transaction():
            moved = await repo.move_status(conn, account_id, "reauth_required",
                                           "The broker refused the access token")
            if moved is not None:
                await publish.account(conn, ev.AccountReauthRequired, moved, self.clock,
                                      "The broker refused the access token")
        if moved is not None:
            log.warning("account.reauth_required", account_id=account_id)
            await self.brokers.forget(account_id)

    async def connection_lost(self, account_id: str) -> None:
        """Tell the user the broker stopped answering (the circuit opened)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.get_account(conn, account_id)
            if row is not None:
                await publish.account(conn, ev.AccountConnectionLost, row, self.clock,
                                      "The broker is not answering; orders wait")

    async def stale(self, row: Any) -> None:
        """Refuse a stored order that was never sent and is now too old."""
        async with self.pool.acquire() as conn, conn.transaction():
            current = await repo.get_order(conn, str(row["id"]), lock=True)
            if current["status"] != S.RECEIVED:
                return
            done = await repo.update_order(conn, row["id"], status=S.STALE.value,
                                           reason="Not sent in time")
            await publish.order(conn, ev.OrderStale, done, self.clock)


"""User-facing order use cases: place, cancel, modify, list, get; trades; intents from NATS."""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from contracts import orders as c
from contracts.api import Page
from contracts.events import orders as ev
from contracts.orders import OrderStatus as S
from svckit.errors import Rejected, ValidationFailed

from . import repository as repo
from .adapters.base import (
    BrokerAuthFailed,
    BrokerOrder,
    BrokerRejected,
    BrokerRetryable,
    OrderChange,
)
from .domain import from_paise
from .errors import AccountNotFound, AccountNotTradable, BrokerRefused, OrderNotFound, TryLater
from .ordering import Orders

INTENT_ID = re.compile(c.INTENT_ID_PATTERN)
_ENUMS = {"exchange_segment": c.ExchangeSegment, "transaction_type": c.TransactionType,
          "order_type": c.OrderType, "product_type": c.ProductType, "validity": c.Validity}


def order_reply(row: Any) -> c.Order:
    """Map an order row to the reply model."""
    return c.Order(
        id=str(row["id"]), intent_id=row["intent_id"], account_id=str(row["account_id"]),
        deployment_id=row["deployment_id"], broker_order_id=row["broker_order_id"],
        security_id=row["security_id"], exchange_segment=row["exchange_segment"],
        transaction_type=row["transaction_type"], quantity=row["quantity"],
        filled_quantity=row["filled_quantity"], order_type=row["order_type"],
        product_type=row["product_type"], validity=row["validity"], price=row["price"],
        trigger_price=row["trigger_price"], average_price=row["average_price"],
        status=S(row["status"]), reason=row["reason"], tag=row["tag"], source=row["source"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def trade_reply(row: Any) -> c.Trade:
    """Map a trade row to the reply model."""
    return c.Trade(id=str(row["id"]), order_id=str(row["order_id"]),
                   account_id=str(row["account_id"]), broker_trade_id=row["broker_trade_id"],
                   security_id=row["security_id"], exchange_segment=row["exchange_segment"],
                   transaction_type=row["transaction_type"], product_type=row["product_type"],
                   quantity=row["quantity"], price=row["price"], charges=row["charges"],
                   traded_at=row["traded_at"])


def _broker_error(exc: Exception) -> Exception:
    if isinstance(exc, BrokerRejected):
        return BrokerRefused(f"The broker refused: {exc.message}")
    if isinstance(exc, BrokerAuthFailed):
        return AccountNotTradable("The broker refused the login; link the account again")
    return TryLater("The broker is not answering; try again shortly")


class Manual:
    """Orders as users and execution ask for them."""

    def __init__(self, orders: Orders) -> None:
        self.o = orders

    async def handle_intent(self, data: bytes) -> None:
        """Consume one OrderIntent from ORDERS (TryLater -> delayed NAK)."""
        try:
            intent = msgspec.json.decode(data, type=ev.OrderIntent)
        except msgspec.ValidationError as exc:
            raise Rejected(f"Malformed order intent: {exc}") from exc
        if not INTENT_ID.match(intent.intent_id):
            raise Rejected("intentId must be 1-25 characters of letters, digits, '_' or '-'")
        fields = {"deployment_id": intent.deployment_id, "security_id": intent.security_id,
                  "exchange_segment": intent.exchange_segment,
                  "transaction_type": intent.transaction_type, "quantity": intent.quantity,
                  "order_type": intent.order_type, "product_type": intent.product_type,
                  "validity": intent.validity, "price": from_paise(intent.price),
                  "trigger_price": from_paise(intent.trigger_price), "tag": intent.tag}
        problem = next((f"Unknown {name} {fields[name]!r}" for name, enum in _ENUMS.items()
                        if fields[name] not in enum.__members__), None)
        if intent.quantity <= 0:
            problem = "quantity must be positive"
        elif intent.order_type in ("LIMIT", "STOP_LOSS") and not intent.price:
            problem = "price is required for LIMIT and STOP_LOSS orders"
        elif intent.order_type in ("STOP_LOSS", "STOP_LOSS_MARKET") and not intent.trigger_price:
            problem = "triggerPrice is required for stop-loss orders"
        async with self.o.pool.acquire() as conn:
            account = await repo.get_account(conn, intent.account_id, intent.user_id)
        row, _ = await self.o.store(intent_id=intent.intent_id, user_id=intent.user_id,
                                    account_ref=intent.account_id, account=account,
                                    source="strategy" if intent.deployment_id else "intent",
                                    intent_ts=intent.ts_event, fields=fields, refuse=problem)
        if row is not None and row["status"] in (S.RECEIVED, S.SENDING):
            await self.o.submit(intent.intent_id)

    async def place(self, user_id: str, req: c.PlaceOrder) -> c.Order:
        """Place a manual order and answer with its state after the first send."""
        async with self.o.pool.acquire() as conn:
            account = await repo.get_account(conn, req.account_id, user_id)
        if account is None:
            raise AccountNotFound()
        if account["kill_switch"]:
            raise AccountNotTradable("Kill switch is active on this account")
        if account["status"] != "active":
            raise AccountNotTradable(f"Account is {account['status']}")
        key = req.client_order_id or uuid.uuid4().hex
        intent_id = c.make_intent_id("manual", user_id, req.account_id, key)
        fields = {"security_id": req.security_id, "exchange_segment": req.exchange_segment.value,
                  "transaction_type": req.transaction_type.value, "quantity": req.quantity,
                  "order_type": req.order_type.value, "product_type": req.product_type.value,
                  "validity": req.validity.value, "price": req.price,
                  "trigger_price": req.trigger_price, "tag": req.tag}
        row, new = await self.o.store(intent_id=intent_id, user_id=user_id,
                                      account_ref=req.account_id, account=account,
                                      source="manual", intent_ts=self.o.clock.now(), fields=fields)
        if new and row["status"] == S.RECEIVED:
            try:
                await self.o.submit(intent_id)
            except TryLater:
                pass  # the reconciler finishes it; the reply shows `sending`
        return await self.get(user_id, str(row["id"]))

    async def get(self, user_id: str, order_id: str) -> c.Order:
        """Return one of the user's orders."""
        async with self.o.pool.acquire() as conn:
            row = await repo.get_order(conn, order_id, user_id)
        if row is None:
            raise OrderNotFound()
        return order_reply(row)

    async def list(self, user_id: str, q: c.ListOrders) -> Page[c.Order]:
        """Return one page of the user's orders."""
        async with self.o.pool.acquire() as conn:
            rows, total = await repo.list_orders(
                conn, user_id, account_id=q.account_id,
                status=q.status.value if q.status else None, security_id=q.security_id,
                deployment_id=q.deployment_id, since=q.since, until=q.until,
                limit=q.page_size, offset=(q.page - 1) * q.page_size)
        return Page[c.Order](items=[order_reply(r) for r in rows], total=total, page=q.page,
                               page_size=q.page_size)

    async def _open_order(self, user_id: str, order_id: str) -> tuple[Any, Any]:
        async with self.o.pool.acquire() as conn:
            row = await repo.get_order(conn, order_id, user_id)
            if row is None:
                raise OrderNotFound()
            account = await repo.get_account(conn, str(row["account_id"]))
        if row["status"] not in (S.PLACED, S.ACCEPTED, S.PARTIALLY_FILLED) \
                or not row["broker_order_id"]:
            raise AccountNotTradable(f"The order is {row['status']} and cannot be changed")
        if account is None or account["status"] != "active":
            raise AccountNotTradable("The account cannot trade now")
        return row, account

    async def cancel(self, user_id: str, order_id: str) -> c.Order:
        """Cancel one of the user's open orders."""
        row, account = await self._open_order(user_id, order_id)
        adapter = self.o.brokers.adapter(account)
        try:
            done = await adapter.cancel(row["broker_order_id"])
        except (BrokerRejected, BrokerRetryable, BrokerAuthFailed) as exc:
            if isinstance(exc, BrokerAuthFailed):
                await self.o.reauth(str(account["id"]))
            raise _broker_error(exc) from exc
        await self.o.on_update(str(account["id"]), done)
        return await self.get(user_id, order_id)

    async def modify(self, user_id: str, req: c.ModifyOrder) -> c.Order:
        """Change one of the user's open orders."""
        if all(v is None for v in (req.quantity, req.order_type, req.price, req.trigger_price,
                                   req.validity)):
            raise ValidationFailed("Nothing to change")
        row, account = await self._open_order(user_id, req.order_id)
        adapter = self.o.brokers.adapter(account)
        change = OrderChange(quantity=req.quantity,
                             order_type=(req.order_type or c.OrderType(row["order_type"])).value,
                             price=req.price if req.price is not None else row["price"],
                             trigger_price=req.trigger_price if req.trigger_price is not None
                             else row["trigger_price"],
                             validity=(req.validity or c.Validity(row["validity"])).value)
        current = BrokerOrder(broker_order_id=row["broker_order_id"], status="PENDING",
                              quantity=row["quantity"], filled_quantity=row["filled_quantity"])
        try:
            await adapter.modify(row["broker_order_id"], change, current)
        except (BrokerRejected, BrokerRetryable, BrokerAuthFailed) as exc:
            raise _broker_error(exc) from exc
        fields = {k: v for k, v in (("quantity", req.quantity), ("price", req.price),
                                    ("trigger_price", req.trigger_price),
                                    ("order_type", change.order_type),
                                    ("validity", change.validity)) if v is not None}
        async with self.o.pool.acquire() as conn:
            await repo.update_order(conn, row["id"], **fields)
        return await self.get(user_id, req.order_id)

    async def trades(self, user_id: str, q: c.ListTrades) -> Page[c.Trade]:
        """Return one page of the user's fills."""
        async with self.o.pool.acquire() as conn:
            rows, total = await repo.list_trades(
                conn, user_id, account_id=q.account_id, order_id=q.order_id,
                security_id=q.security_id, since=q.since, until=q.until, limit=q.page_size,
                offset=(q.page - 1) * q.page_size)
        return Page[c.Trade](items=[trade_reply(r) for r in rows], total=total, page=q.page,
                               page_size=q.page_size)

    async def trade(self, user_id: str, trade_id: str) -> c.Trade:
        """Return one of the user's fills."""
        async with self.o.pool.acquire() as conn:
            row = await repo.get_trade(conn, trade_id, user_id)
        if row is None:
            raise OrderNotFound()
        return trade_reply(row)

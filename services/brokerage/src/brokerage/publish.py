"""Build the brokerage's events from stored rows and put them in the outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
from contracts import subjects
from contracts.events import new_event_fields
from contracts.events import orders as ev
from svckit.clock import Clock
from svckit.outbox import enqueue

from . import metrics
from .domain import to_paise


def order_event(cls: type[ev.OrderEvent], row: Any, clock: Clock, *,
                last_fill_quantity: int = 0, last_fill_price: Decimal | None = None) -> ev.OrderEvent:
    """Return an order event describing `row` as it stands."""
    return cls(
        **new_event_fields(clock.now()),
        order_id=str(row["id"]), intent_id=row["intent_id"], user_id=row["user_id"],
        account_id=str(row["account_id"]), deployment_id=row["deployment_id"],
        broker_order_id=row["broker_order_id"], security_id=row["security_id"],
        exchange_segment=row["exchange_segment"], transaction_type=row["transaction_type"],
        product_type=row["product_type"], order_type=row["order_type"],
        quantity=row["quantity"], filled_quantity=row["filled_quantity"],
        average_price=to_paise(row["average_price"]), last_fill_quantity=last_fill_quantity,
        last_fill_price=to_paise(last_fill_price), status=row["status"], reason=row["reason"],
        tag=row["tag"])


async def order(conn: asyncpg.Connection, cls: type[ev.OrderEvent], row: Any, clock: Clock,
                **extra: Any) -> ev.OrderEvent:
    """Enqueue an order event for `row` on evt.<userId>.order.<name>."""
    event = order_event(cls, row, clock, **extra)
    name = ev.order_event_name(event)
    subject = subjects.user_event(row["user_id"], ev.ORDER_DOMAIN, name)
    await enqueue(conn, subject, event)
    metrics.ORDERS.labels(name).inc()
    return event


async def account(conn: asyncpg.Connection, cls: type[ev.AccountEvent], row: Any, clock: Clock,
                  reason: str | None = None) -> ev.AccountEvent:
    """Enqueue an account event on evt.<userId>.account.<name>."""
    event = cls(**new_event_fields(clock.now()), user_id=row["user_id"],
                account_id=str(row["id"]), broker=row["broker"], status=row["status"],
                reason=reason)
    subject = subjects.user_event(row["user_id"], ev.ACCOUNT_DOMAIN, ev.account_event_name(event))
    await enqueue(conn, subject, event)
    return event

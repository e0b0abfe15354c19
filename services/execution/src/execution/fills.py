"""Positions and trades from the order events brokerage publishes (partial fills included)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg
from contracts import subjects
from contracts.events.execution import TRADE_DOMAIN, TradeClosed, TradeOpened
from contracts.events.orders import OrderEvent
from contracts.orders import TERMINAL_STATUSES

from . import domain as d
from . import repository as repo
from .ledger import Outgoing, stable_id
from .runner import pct

CONSUMER = "execution-orders"
FILLS_CHANNEL = "execution_fills"


async def apply(conn: asyncpg.Connection, out: Outgoing, ev: OrderEvent, now: datetime) -> str | None:
    """Apply one order event to its intent and trades; return the deployment id it touched."""
    intent = await repo.intent(conn, ev.intent_id, lock=True)
    if intent is None:
        return None  # a manual order or another service's: not ours
    delta, price = d.fill_increment(intent["filled_quantity"], intent["average_price_paise"],
                                    ev.filled_quantity, ev.average_price, ev.last_fill_quantity,
                                    ev.last_fill_price)
    status = ev.status if ev.filled_quantity >= intent["filled_quantity"] else intent["status"]
    await conn.execute(
        "UPDATE intents SET status = $2, order_id = COALESCE($3, order_id),"
        " filled_quantity = GREATEST(filled_quantity, $4),"
        " average_price_paise = COALESCE($5, average_price_paise), reason = COALESCE($6, reason),"
        " updated_at = now() WHERE intent_id = $1",
        ev.intent_id, status, ev.order_id, ev.filled_quantity, ev.average_price, ev.reason)
    dep = await repo.get_deployment(conn, None, str(intent["deployment_id"]))
    assert dep is not None
    trade_ids = intent["trade_ids"] if isinstance(intent["trade_ids"], list) \
        else json.loads(intent["trade_ids"])
    if delta > 0 and price is not None:
        if intent["action"] == d.ENTRY:
            await _entry_fill(conn, out, dep, ev.intent_id, delta, price, ev.ts_event, now)
        else:
            await _exit_fill(conn, out, dep, trade_ids, delta, price, ev.ts_event, now)
    if status in TERMINAL_STATUSES and status != "filled":
        if intent["action"] == d.ENTRY:
            await conn.execute("DELETE FROM trades WHERE id = $1 AND quantity = 0", ev.intent_id)
        else:
            # the exit did not (fully) happen: the trades are held again and stay monitored
            await conn.execute("UPDATE trades SET exit_intent_id = NULL, exit_reason = NULL"
                               " WHERE id = ANY($1) AND status = 'open'", trade_ids)
    await conn.execute("SELECT pg_notify($1, $2)", FILLS_CHANNEL, str(dep["id"]))
    return str(dep["id"])


async def _entry_fill(conn, out: Outgoing, dep: dict, trade_id: str, qty: int, price: int,
                      at: datetime, now: datetime) -> None:
    t = await conn.fetchrow("SELECT * FROM trades WHERE id = $1 FOR UPDATE", trade_id)
    total = t["quantity"] + qty
    avg = round(((t["entry_price_paise"] or 0) * t["quantity"] + price * qty) / total)
    stop, target = d.levels(dep["direction"], avg, pct(dep["stop_loss_pct"]), pct(dep["target_pct"]))
    await conn.execute(
        "UPDATE trades SET quantity = $2, entry_price_paise = $3, stop_paise = $4,"
        " target_paise = $5, status = 'open', entry_time = COALESCE(entry_time, $6),"
        " updated_at = now() WHERE id = $1", trade_id, total, avg, stop, target, at)
    if t["status"] == "pending":
        await out.event(conn, subjects.user_event(dep["user_id"], TRADE_DOMAIN, "opened"),
                        TradeOpened(event_id=stable_id(trade_id, "opened"), ts_event=at,
                                    ts_init=now, trade_id=trade_id, deployment_id=str(dep["id"]),
                                    user_id=dep["user_id"], security_id=dep["security_id"],
                                    direction=dep["direction"], quantity=total, entry_price=avg))


async def _exit_fill(conn, out: Outgoing, dep: dict, trade_ids: list[str], qty: int, price: int,
                     at: datetime, now: datetime) -> None:
    rows = await conn.fetch("SELECT * FROM trades WHERE id = ANY($1) AND status = 'open'"
                            " ORDER BY created_at, id FOR UPDATE", trade_ids)
    left = qty
    for t in rows:
        n = min(left, t["quantity"] - t["exited_quantity"])
        if n <= 0:
            continue
        left -= n
        exited = t["exited_quantity"] + n
        value = t["exit_value_paise"] + n * price
        if exited < t["quantity"]:
            await conn.execute("UPDATE trades SET exited_quantity = $2, exit_value_paise = $3,"
                               " updated_at = now() WHERE id = $1", t["id"], exited, value)
            continue
        exit_price = round(value / exited)
        gross = d.pnl(dep["direction"], exited, t["entry_price_paise"], exit_price) \
            if exit_price * exited == value else \
            (value - t["entry_price_paise"] * exited) * (1 if dep["direction"] == "long" else -1)
        await conn.execute(
            "UPDATE trades SET exited_quantity = $2, exit_value_paise = $3, exit_price_paise = $4,"
            " pnl_paise = $5, exit_time = $6, status = 'closed', updated_at = now() WHERE id = $1",
            t["id"], exited, value, exit_price, gross, at)
        await out.event(conn, subjects.user_event(dep["user_id"], TRADE_DOMAIN, "closed"),
                        TradeClosed(event_id=stable_id(t["id"], "closed"), ts_event=at,
                                    ts_init=now, trade_id=t["id"], deployment_id=str(dep["id"]),
                                    user_id=dep["user_id"], security_id=dep["security_id"],
                                    direction=dep["direction"], quantity=exited,
                                    entry_price=t["entry_price_paise"], exit_price=exit_price,
                                    pnl=gross, exit_reason=t["exit_reason"]))
        if left <= 0:
            break

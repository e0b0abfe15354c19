"""SQL of the brokerage schema. Every user-facing read is scoped by user id."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

Row = asyncpg.Record

_ACCOUNT_COLS = frozenset({"label", "status", "credentials", "credential_kid", "has_api_key",
                           "token_expires_at", "kill_switch", "last_error", "last_synced_at",
                           "dhan_client_id", "unlinked_at"})
_ORDER_COLS = frozenset({"status", "broker_order_id", "filled_quantity", "average_price",
                         "reason", "price", "trigger_price", "quantity", "order_type",
                         "validity"})
OPEN = ("received", "sending", "placed", "accepted", "partially_filled")


def _set(cols: frozenset[str], fields: dict[str, Any], start: int = 2) -> tuple[str, list]:
    bad = set(fields) - cols
    if bad:
        raise ValueError(f"not updatable: {sorted(bad)}")
    parts = [f"{k} = ${i}" for i, k in enumerate(fields, start)]
    return ", ".join(parts + ["updated_at = now()"]), list(fields.values())


# --- accounts ------------------------------------------------------------------------------


async def insert_account(conn: asyncpg.Connection, **row: Any) -> Row:
    """Insert an account row and return it."""
    cols = ", ".join(row)
    args = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    return await conn.fetchrow(f"INSERT INTO accounts ({cols}) VALUES ({args}) RETURNING *",
                               *row.values())


async def get_account(conn: asyncpg.Connection, account_id: str, user_id: str | None = None,
                      *, lock: bool = False) -> Row | None:
    """Return a linked account (of `user_id`, when given)."""
    try:
        aid = uuid.UUID(account_id)
    except ValueError:
        return None
    sql = "SELECT * FROM accounts WHERE id = $1 AND unlinked_at IS NULL"
    args: list[Any] = [aid]
    if user_id is not None:
        sql += " AND user_id = $2"
        args.append(user_id)
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), *args)


async def list_accounts(conn: asyncpg.Connection, user_id: str) -> list[Row]:
    """Return a user's linked accounts, oldest first."""
    return await conn.fetch("SELECT * FROM accounts WHERE user_id = $1 AND unlinked_at IS NULL"
                            " ORDER BY created_at, id", user_id)


async def update_account(conn: asyncpg.Connection, account_id: str, **fields: Any) -> Row:
    """Change account columns and return the row."""
    sets, values = _set(_ACCOUNT_COLS, fields)
    return await conn.fetchrow(f"UPDATE accounts SET {sets} WHERE id = $1 RETURNING *",
                               uuid.UUID(str(account_id)), *values)


async def move_status(conn: asyncpg.Connection, account_id: str, status: str,
                      reason: str | None = None) -> Row | None:
    """Set an account's status unless it already has it; return the row only if it moved."""
    return await conn.fetchrow(
        "UPDATE accounts SET status = $2, last_error = $3, updated_at = now()"
        " WHERE id = $1 AND status <> $2 AND unlinked_at IS NULL RETURNING *",
        uuid.UUID(str(account_id)), status, reason)


async def tradable_accounts(conn: asyncpg.Connection, broker: str) -> list[Row]:
    """Return every active linked account of one broker."""
    return await conn.fetch("SELECT * FROM accounts WHERE broker = $1 AND status = 'active'"
                            " AND unlinked_at IS NULL", broker)


async def sealed_accounts(conn: asyncpg.Connection) -> list[Row]:
    """Return every account holding a credential blob (for key rotation)."""
    return await conn.fetch("SELECT id, user_id, credentials FROM accounts"
                            " WHERE credentials IS NOT NULL FOR UPDATE")


# --- orders --------------------------------------------------------------------------------


async def insert_order(conn: asyncpg.Connection, **row: Any) -> Row | None:
    """Insert an order unless its intent is already stored; return the new row or None."""
    cols = ", ".join(row)
    args = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    return await conn.fetchrow(f"INSERT INTO orders ({cols}) VALUES ({args})"
                               " ON CONFLICT (intent_id) DO NOTHING RETURNING *", *row.values())


async def order_by_intent(conn: asyncpg.Connection, intent_id: str, *,
                          lock: bool = False) -> Row | None:
    """Return the order of an intent."""
    return await conn.fetchrow("SELECT *, extract(epoch FROM now() - sent_at) AS sent_age_s"
                               " FROM orders WHERE intent_id = $1"
                               + (" FOR UPDATE" if lock else ""), intent_id)


async def get_order(conn: asyncpg.Connection, order_id: str, user_id: str | None = None,
                    *, lock: bool = False) -> Row | None:
    """Return one order (of `user_id`, when given)."""
    try:
        oid = uuid.UUID(order_id)
    except ValueError:
        return None
    sql = "SELECT * FROM orders WHERE id = $1"
    args: list[Any] = [oid]
    if user_id is not None:
        sql += " AND user_id = $2"
        args.append(user_id)
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), *args)


async def order_by_broker_id(conn: asyncpg.Connection, account_id: str, broker_order_id: str,
                             *, lock: bool = False) -> Row | None:
    """Return the order the broker knows by this id."""
    return await conn.fetchrow("SELECT * FROM orders WHERE account_id = $1 AND broker_order_id = $2"
                               + (" FOR UPDATE" if lock else ""),
                               uuid.UUID(str(account_id)), broker_order_id)


async def mark_sending(conn: asyncpg.Connection, order_id: uuid.UUID) -> None:
    """Record that a send is about to happen (committed before the request goes out)."""
    await conn.execute("UPDATE orders SET status = 'sending', send_attempts = send_attempts + 1,"
                       " sent_at = now(), updated_at = now() WHERE id = $1", order_id)


async def update_order(conn: asyncpg.Connection, order_id: uuid.UUID, **fields: Any) -> Row:
    """Change order columns and return the row."""
    sets, values = _set(_ORDER_COLS, fields)
    return await conn.fetchrow(f"UPDATE orders SET {sets} WHERE id = $1 RETURNING *",
                               order_id, *values)


async def open_orders(conn: asyncpg.Connection, account_id: str | None = None) -> list[Row]:
    """Return orders whose outcome is not final (all accounts, or one)."""
    sql = ("SELECT o.*, extract(epoch FROM now() - o.sent_at) AS sent_age_s, a.broker"
           " FROM orders o JOIN accounts a ON a.id = o.account_id WHERE o.status = ANY($1)")
    args: list[Any] = [list(OPEN)]
    if account_id is not None:
        sql += " AND o.account_id = $2"
        args.append(uuid.UUID(str(account_id)))
    return await conn.fetch(sql + " ORDER BY o.created_at", *args)


async def count_open(conn: asyncpg.Connection, account_id: str) -> tuple[int, int]:
    """Return (open orders, orders with an unknown outcome) of an account."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status = ANY($2)) AS open,"
        " count(*) FILTER (WHERE status = 'sending') AS unknown"
        " FROM orders WHERE account_id = $1", uuid.UUID(str(account_id)), list(OPEN))
    return row["open"], row["unknown"]


async def list_orders(conn: asyncpg.Connection, user_id: str, *, account_id: str | None,
                      status: str | None, security_id: str | None, deployment_id: str | None,
                      since: datetime | None, until: datetime | None, limit: int,
                      offset: int) -> tuple[list[Row], int]:
    """Return one page of a user's orders, newest first, and the total."""
    where, args = ["user_id = $1"], [user_id]
    for col, value in (("account_id", _uuid_or_none(account_id)), ("status", status),
                       ("security_id", security_id), ("deployment_id", deployment_id)):
        if value is not None:
            args.append(value)
            where.append(f"{col} = ${len(args)}")
    if since is not None:
        args.append(since)
        where.append(f"created_at >= ${len(args)}")
    if until is not None:
        args.append(until)
        where.append(f"created_at < ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM orders WHERE {cond}", *args)
    rows = await conn.fetch(f"SELECT * FROM orders WHERE {cond} ORDER BY created_at DESC, id"
                            f" LIMIT {int(limit)} OFFSET {int(offset)}", *args)
    return rows, total


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.UUID(int=0)


# --- trades --------------------------------------------------------------------------------


async def insert_trade(conn: asyncpg.Connection, **row: Any) -> bool:
    """Record one fill unless it is already recorded; return True when it is new."""
    cols = ", ".join(row)
    args = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    return await conn.fetchval(f"INSERT INTO trades ({cols}) VALUES ({args})"
                               " ON CONFLICT (account_id, broker_trade_id) DO NOTHING"
                               " RETURNING true", *row.values()) is not None


async def list_trades(conn: asyncpg.Connection, user_id: str, *, account_id: str | None,
                      order_id: str | None, security_id: str | None, since: datetime | None,
                      until: datetime | None, limit: int, offset: int) -> tuple[list[Row], int]:
    """Return one page of a user's fills, newest first, and the total."""
    where, args = ["user_id = $1"], [user_id]
    for col, value in (("account_id", _uuid_or_none(account_id)),
                       ("order_id", _uuid_or_none(order_id)), ("security_id", security_id)):
        if value is not None:
            args.append(value)
            where.append(f"{col} = ${len(args)}")
    if since is not None:
        args.append(since)
        where.append(f"traded_at >= ${len(args)}")
    if until is not None:
        args.append(until)
        where.append(f"traded_at < ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM trades WHERE {cond}", *args)
    rows = await conn.fetch(f"SELECT * FROM trades WHERE {cond} ORDER BY traded_at DESC, id"
                            f" LIMIT {int(limit)} OFFSET {int(offset)}", *args)
    return rows, total


async def get_trade(conn: asyncpg.Connection, trade_id: str, user_id: str) -> Row | None:
    """Return one fill of a user."""
    oid = _uuid_or_none(trade_id)
    return await conn.fetchrow("SELECT * FROM trades WHERE id = $1 AND user_id = $2", oid, user_id)


async def account_fills(conn: asyncpg.Connection, account_id: str) -> list[Row]:
    """Return every fill of an account, oldest first (the paper ledger)."""
    return await conn.fetch("SELECT * FROM trades WHERE account_id = $1 ORDER BY traded_at, id",
                            uuid.UUID(str(account_id)))


# --- daily values --------------------------------------------------------------------------


async def record_day(conn: asyncpg.Connection, account_id: str, day: date, value: Any,
                     pnl: Any) -> None:
    """Upsert an account's value for a day."""
    await conn.execute("INSERT INTO portfolio_days (account_id, day, value, pnl)"
                       " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, day)"
                       " DO UPDATE SET value = EXCLUDED.value, pnl = EXCLUDED.pnl",
                       uuid.UUID(str(account_id)), day, value, pnl)


async def history(conn: asyncpg.Connection, account_ids: list[str], since: date | None,
                  until: date | None) -> list[Row]:
    """Return summed daily values of some accounts, oldest first."""
    return await conn.fetch(
        "SELECT day, sum(value) AS value, sum(pnl) AS pnl FROM portfolio_days"
        " WHERE account_id = ANY($1) AND ($2::date IS NULL OR day >= $2)"
        " AND ($3::date IS NULL OR day <= $3) GROUP BY day ORDER BY day",
        [uuid.UUID(a) for a in account_ids], since, until)

"""SQL of the execution schema (deployments, intents, trades, logs, engine leases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

_RUNNING = ("active", "paused")
_encode = msgspec.json.Encoder().encode


def dumps(value: Any) -> str:
    """Return JSON text for a jsonb parameter.

    msgspec, not `json`: a bar stores the state of every deployment of the instrument, and
    `json.dumps` of those snapshots was an eighth of a bar's cost. It also writes NaN as
    null, which jsonb accepts (`json.dumps` writes NaN, which jsonb refuses).
    """
    return _encode(value).decode()


async def insert_deployment(conn: asyncpg.Connection, row: dict[str, Any]) -> dict:
    """Store a new deployment and return it."""
    cols = list(row)
    sql = (f"INSERT INTO deployments ({', '.join(cols)}) VALUES "
           f"({', '.join(f'${i + 1}' for i in range(len(cols)))}) RETURNING *")
    return dict(await conn.fetchrow(sql, *row.values()))


async def get_deployment(conn: asyncpg.Connection, user_id: str | None, dep_id: str,
                         lock: bool = False) -> dict | None:
    """Return one deployment of a user (any user when `user_id` is None)."""
    sql = "SELECT * FROM deployments WHERE id = $1::uuid AND ($2::text IS NULL OR user_id = $2)"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), dep_id, user_id)
    return dict(row) if row else None


async def list_deployments(conn: asyncpg.Connection, user_id: str, status: str | None,
                           strategy_id: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """Return one page of a user's deployments, newest first, and the total."""
    where = "user_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR strategy_id = $3)"
    rows = await conn.fetch(f"SELECT * FROM deployments WHERE {where} ORDER BY created_at DESC, id"
                            " LIMIT $4 OFFSET $5", user_id, status, strategy_id, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM deployments WHERE {where}",
                                user_id, status, strategy_id)
    return [dict(r) for r in rows], total


async def user_running(conn: asyncpg.Connection, user_id: str) -> list[dict]:
    """Return a user's active and paused deployments."""
    rows = await conn.fetch("SELECT * FROM deployments WHERE user_id = $1 AND status = ANY($2)",
                            user_id, list(_RUNNING))
    return [dict(r) for r in rows]


async def set_status(conn: asyncpg.Connection, dep_id: str, status: str, *,
                     at: datetime | None = None, error: str | None = None) -> dict:
    """Move a deployment to a status (stamping paused_at/stopped_at) and return it."""
    row = await conn.fetchrow(
        "UPDATE deployments SET status = $2, updated_at = now(),"
        " paused_at = CASE WHEN $2 = 'paused' THEN $3 WHEN $2 = 'active' THEN NULL ELSE paused_at END,"
        " stopped_at = CASE WHEN $2 IN ('stopped', 'halted', 'error') THEN $3 ELSE stopped_at END,"
        " error_message = COALESCE($4, error_message),"
        " owner = CASE WHEN $2 IN ('stopped', 'halted', 'error') THEN NULL ELSE owner END"
        " WHERE id = $1::uuid RETURNING *", dep_id, status, at, error)
    return dict(row)


async def set_entries_paused(conn: asyncpg.Connection, dep_ids: list[str], reason: str | None) -> None:
    """Hold (reason) or allow (None) new entries of deployments."""
    await conn.execute("UPDATE deployments SET entries_paused = $2, updated_at = now()"
                       " WHERE id = ANY($1::uuid[])", dep_ids, reason)


# --- engine ownership -------------------------------------------------------------------


async def claim(conn: asyncpg.Connection, owner: str, limit: int) -> list[dict]:
    """Take running deployments nobody holds, or whose holder's lease ran out."""
    rows = await conn.fetch(
        "UPDATE deployments SET owner = $1 WHERE id IN (SELECT d.id FROM deployments d"
        "   LEFT JOIN engine_leases l ON l.owner = d.owner WHERE d.status = ANY($2)"
        "   AND (d.owner IS NULL OR l.lease_until IS NULL OR l.lease_until < now())"
        "   ORDER BY d.created_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED) RETURNING *",
        owner, list(_RUNNING), limit)
    return [dict(r) for r in rows]


async def heartbeat(conn: asyncpg.Connection, owner: str, ttl_s: float) -> set[str]:
    """Extend this replica's lease; return the deployments it still holds."""
    await conn.execute(
        "INSERT INTO engine_leases (owner, lease_until) VALUES ($1, now() + make_interval(secs => $2))"
        " ON CONFLICT (owner) DO UPDATE SET lease_until = EXCLUDED.lease_until", owner, ttl_s)
    rows = await conn.fetch("SELECT id FROM deployments WHERE owner = $1 AND status = ANY($2)",
                            owner, list(_RUNNING))
    return {str(r["id"]) for r in rows}


async def release(conn: asyncpg.Connection, owner: str) -> None:
    """Give up this replica's deployments and lease (clean shutdown)."""
    await conn.execute("UPDATE deployments SET owner = NULL WHERE owner = $1", owner)
    await conn.execute("DELETE FROM engine_leases WHERE owner = $1", owner)


async def advance(conn: asyncpg.Connection, owner: str,
                  rows: list[tuple[str, datetime, dict, int | None, int | None]]) -> set[str]:
    """Record the bar each deployment has now seen, with its evaluator state when given
    (None keeps the stored one); return those that had not seen the bar yet."""
    if not rows:
        return set()
    # lock in id order, like every other multi-row lock here, so commits never deadlock
    await conn.execute("SELECT 1 FROM deployments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
                       [r[0] for r in rows])
    out = await conn.fetch(
        "UPDATE deployments d SET last_bar_start = u.bar, last_price_paise = u.price,"
        " state = COALESCE(u.state::jsonb, d.state),"
        " state_seq = CASE WHEN u.state IS NULL THEN d.state_seq ELSE u.seq END,"
        " last_bar_seq = COALESCE(u.seq, d.last_bar_seq), updated_at = now()"
        " FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::bigint[], $6::bigint[])"
        " AS u(id, bar, state, price, seq)"
        " WHERE d.id = u.id AND (d.last_bar_start IS NULL OR d.last_bar_start < u.bar)"
        " AND d.owner = $5 AND d.status = ANY($7) RETURNING d.id",
        [r[0] for r in rows], [r[1] for r in rows],
        [None if r[2] is None else dumps(r[2]) for r in rows],
        [r[3] for r in rows], owner, [r[4] for r in rows], list(_RUNNING))
    return {str(r["id"]) for r in out}


# --- intents, trades, logs ----------------------------------------------------------------


async def insert_intent(conn: asyncpg.Connection, i: dict[str, Any]) -> bool:
    """Store an intent; False when it already exists (nothing else must happen then)."""
    row = await conn.fetchval(
        "INSERT INTO intents (intent_id, deployment_id, user_id, account_id, leg, action, side,"
        " quantity, trade_ids, bar_start, created_at) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8,"
        " $9::text::jsonb, $10, $11) ON CONFLICT DO NOTHING RETURNING 1",
        i["intent_id"], i["deployment_id"], i["user_id"], i["account_id"], i["leg"], i["action"],
        i["side"], i["quantity"], dumps(i["trade_ids"]), i.get("bar_start"), i["created_at"])
    return row is not None


async def insert_intents(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Store intents in one statement; return the ids that were new (the others existed)."""
    if not rows:
        return set()
    cols = ("intent_id", "deployment_id", "user_id", "account_id", "leg", "action", "side",
            "quantity", "trade_ids", "bar_start", "created_at")
    out = await conn.fetch(
        "INSERT INTO intents (intent_id, deployment_id, user_id, account_id, leg, action, side,"
        " quantity, trade_ids, bar_start, created_at) SELECT u.intent_id, u.deployment_id, u.user_id,"
        " u.account_id, u.leg, u.action, u.side, u.quantity, u.trade_ids::jsonb, u.bar_start,"
        " u.created_at FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::int[], $9::text[], $10::timestamptz[], $11::timestamptz[])"
        " AS u(intent_id, deployment_id, user_id, account_id, leg, action, side, quantity,"
        " trade_ids, bar_start, created_at) ON CONFLICT DO NOTHING RETURNING intent_id",
        *[[dumps(r[c]) if c == "trade_ids" else r.get(c) for r in rows] for c in cols])
    return {r["intent_id"] for r in out}


async def insert_trades(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    """Store pending trades for entry intents."""
    if rows:
        await conn.executemany(
            "INSERT INTO trades (id, deployment_id, user_id, strategy_id, account_id, segment,"
            " security_id, symbol, direction, entry_intent_id) VALUES ($1, $2::uuid, $3, $4, $5,"
            " $6, $7, $8, $9, $1) ON CONFLICT DO NOTHING",
            [(t["id"], t["deployment_id"], t["user_id"], t["strategy_id"], t["account_id"],
              t["segment"], t["security_id"], t["symbol"], t["direction"]) for t in rows])


async def mark_exiting_many(conn: asyncpg.Connection,
                            rows: list[tuple[list[str], str, str]]) -> None:
    """Tie trades to the exit intents that close them: (trade ids, intent id, reason)."""
    if rows:
        await conn.executemany("UPDATE trades SET exit_intent_id = $2, exit_reason = $3,"
                               " updated_at = now() WHERE id = ANY($1)", rows)


async def insert_trade(conn: asyncpg.Connection, t: dict[str, Any]) -> None:
    """Store a pending trade for an entry intent."""
    await conn.execute(
        "INSERT INTO trades (id, deployment_id, user_id, strategy_id, account_id, segment,"
        " security_id, symbol, direction, entry_intent_id) VALUES ($1, $2::uuid, $3, $4, $5, $6,"
        " $7, $8, $9, $1) ON CONFLICT DO NOTHING",
        t["id"], t["deployment_id"], t["user_id"], t["strategy_id"], t["account_id"],
        t["segment"], t["security_id"], t["symbol"], t["direction"])


async def mark_exiting(conn: asyncpg.Connection, trade_ids: list[str], intent_id: str,
                       reason: str) -> None:
    """Tie trades to the exit intent that closes them."""
    await conn.execute("UPDATE trades SET exit_intent_id = $2, exit_reason = $3, updated_at = now()"
                       " WHERE id = ANY($1)", trade_ids, intent_id, reason)


async def insert_logs(conn: asyncpg.Connection, rows: list[tuple]) -> None:
    """Append execution-log rows (deployment, user, ts, kind, action, message, reasons, bar, values, intent)."""
    if not rows:
        return
    await conn.executemany(
        'INSERT INTO exec_logs (deployment_id, user_id, ts, kind, action, message, reasons, bar,'
        ' "values", intent_id) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::text::jsonb,'
        ' $8::text::jsonb, $9::text::jsonb, $10)', rows)


async def trades_of(conn: asyncpg.Connection, dep_id: str) -> list[dict]:
    """Return every trade of a deployment, oldest first."""
    rows = await conn.fetch("SELECT * FROM trades WHERE deployment_id = $1::uuid"
                            " ORDER BY created_at, id", dep_id)
    return [dict(r) for r in rows]


async def intent(conn: asyncpg.Connection, intent_id: str, lock: bool = False) -> dict | None:
    """Return one intent."""
    row = await conn.fetchrow("SELECT * FROM intents WHERE intent_id = $1"
                              + (" FOR UPDATE" if lock else ""), intent_id)
    return dict(row) if row else None


async def stats(conn: asyncpg.Connection, dep_id: str) -> dict:
    """Return order counts and P&L sums of one deployment."""
    row = await conn.fetchrow(
        "SELECT count(*) AS total,"
        " count(*) FILTER (WHERE status IN ('filled', 'partially_filled')) AS ok,"
        " count(*) FILTER (WHERE status IN ('rejected', 'failed', 'stale', 'expired', 'cancelled')) AS bad"
        " FROM intents WHERE deployment_id = $1::uuid", dep_id)
    pnl = await conn.fetchval("SELECT COALESCE(sum(pnl_paise), 0) FROM trades"
                              " WHERE deployment_id = $1::uuid AND pnl_paise IS NOT NULL", dep_id)
    return {"total": row["total"], "ok": row["ok"], "bad": row["bad"], "realized": int(pnl)}


async def logs_page(conn: asyncpg.Connection, dep_id: str, kind: str | None, limit: int,
                    offset: int) -> tuple[list[dict], int]:
    """Return one page of a deployment's log, newest first."""
    where = "deployment_id = $1::uuid AND ($2::text IS NULL OR kind = $2)"
    rows = await conn.fetch(f'SELECT * FROM exec_logs WHERE {where} ORDER BY id DESC'
                            " LIMIT $3 OFFSET $4", dep_id, kind, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM exec_logs WHERE {where}", dep_id, kind)
    return [dict(r) for r in rows], total


async def trades_page(conn: asyncpg.Connection, user_id: str, dep_id: str | None,
                      status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """Return one page of a user's strategy trades, newest first."""
    where = ("user_id = $1 AND ($2::text IS NULL OR deployment_id = $2::uuid)"
             " AND ($3::text IS NULL OR status = $3)")
    rows = await conn.fetch(f"SELECT * FROM trades WHERE {where} ORDER BY created_at DESC, id"
                            " LIMIT $4 OFFSET $5", user_id, dep_id, status, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM trades WHERE {where}", user_id, dep_id, status)
    return [dict(r) for r in rows], total


async def trade(conn: asyncpg.Connection, user_id: str, trade_id: str) -> dict | None:
    """Return one trade of a user."""
    row = await conn.fetchrow("SELECT * FROM trades WHERE id = $1 AND user_id = $2",
                              trade_id, user_id)
    return dict(row) if row else None


async def open_intents(conn: asyncpg.Connection, dep_ids: list[str]) -> list[dict]:
    """Return intents whose order may still rest at the broker."""
    rows = await conn.fetch(
        "SELECT * FROM intents WHERE deployment_id = ANY($1::uuid[])"
        " AND status IN ('sent', 'placed', 'accepted', 'partially_filled', 'received', 'sending')",
        dep_ids)
    return [dict(r) for r in rows]


async def owned_running(conn: asyncpg.Connection, owner: str, dep_ids: list[str]) -> set[str]:
    """Lock and return those deployments this replica still runs (a guard before a commit)."""
    rows = await conn.fetch("SELECT id FROM deployments WHERE id = ANY($1::uuid[]) AND owner = $2"
                            " AND status = ANY($3) ORDER BY id FOR UPDATE", dep_ids, owner, list(_RUNNING))
    return {str(r["id"]) for r in rows}


async def expected_net(conn: asyncpg.Connection, account_id: str, segment: str,
                       security_id: str) -> int:
    """Return the signed units all running deployments of an account hold in one instrument."""
    return int(await conn.fetchval(
        "SELECT COALESCE(sum(CASE WHEN t.direction = 'long' THEN 1 ELSE -1 END"
        " * (t.quantity - t.exited_quantity)), 0) FROM trades t JOIN deployments d"
        " ON d.id = t.deployment_id WHERE t.account_id = $1 AND t.segment = $2"
        " AND t.security_id = $3 AND t.status = 'open'", account_id, segment, security_id))


async def unsettled(conn: asyncpg.Connection, dep_id: str) -> int:
    """Return how many intents of a deployment have no final outcome yet."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM intents WHERE deployment_id = $1::uuid AND status NOT IN"
        " ('filled', 'cancelled', 'rejected', 'expired', 'failed', 'stale')", dep_id))

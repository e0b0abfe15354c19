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


_CLAIM_LOCK = 0x6578_6563_636C_6169  # advisory lock key: one replica claims at a time

Instrument = tuple[str, str, str]  # (timeframe, segment, security_id): one bar stream


async def _instruments(conn: asyncpg.Connection, owner: str, overdue_s: float,
                       ) -> tuple[list[asyncpg.Record], int]:
    """Return every running instrument (who holds it, what is free) and the live replicas."""
    rows = await conn.fetch(
        "SELECT d.timeframe, d.segment, d.security_id,"
        " bool_or(l.owner = $1) AS mine, bool_or(l.owner <> $1) AS others,"
        " count(*) FILTER (WHERE l.owner IS NULL) AS free,"
        " count(*) FILTER (WHERE l.owner = $1) AS held,"
        " min(d.created_at) FILTER (WHERE l.owner IS NULL) AS oldest_free,"
        " bool_or(l.owner IS NULL AND d.updated_at < now() - make_interval(secs => $3))"
        "   AS overdue"
        " FROM deployments d LEFT JOIN engine_leases l"
        "   ON l.owner = d.owner AND l.lease_until >= now()"
        " WHERE d.status = ANY($2) GROUP BY 1, 2, 3", owner, list(_RUNNING), overdue_s)
    replicas = await conn.fetchval(
        "SELECT count(*) FROM engine_leases WHERE lease_until >= now() OR owner = $1", owner)
    return rows, max(int(replicas), 1)


def _share(instruments: int, replicas: int) -> int:
    return -(-instruments // replicas)


def _key(r: asyncpg.Record) -> Instrument:
    return (r["timeframe"], r["segment"], r["security_id"])


async def claim(conn: asyncpg.Connection, owner: str, limit: int, overdue_s: float = 15.0,
                shed: int = 0) -> tuple[list[dict], list[Instrument]]:
    """Take running deployments nobody holds (or whose holder's lease ran out), by instrument;
    return them, and the instruments to hand back (at most `shed`) when none were free.

    An instrument's deployments belong on one replica: it evaluates each bar once for all of
    them, from one subscription, and commits their decisions together. So a replica takes the
    free deployments of the instruments it runs, then whole instruments no live replica runs
    while it runs fewer than its share (running instruments / live replicas, rounded up),
    oldest first, and any deployment left free for `overdue_s` (nobody else took it). Whole
    instruments, up to `limit` deployments (at least one instrument). Claims take turns (an
    advisory lock), so two replicas never split a free instrument between them.

    A replica running more than its share while nothing is free (another one joined) hands
    back its smallest instruments, the cheapest to move.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)
        rows, replicas = await _instruments(conn, owner, overdue_s)
        share = _share(len(rows), replicas)
        mine = [r for r in rows if r["mine"]]
        free = [r for r in rows if r["free"] and not r["mine"]]
        room = max(share - len(mine), 0)
        fresh = sorted((r for r in free if not r["others"]),
                       key=lambda r: (r["oldest_free"], r["security_id"]))[:room]
        late = [r for r in free if r["overdue"] and r not in fresh]
        wanted: list[Instrument] = []
        taken = 0
        for r in [r for r in mine if r["free"]] + fresh + late:
            if wanted and taken >= limit:
                break
            wanted.append(_key(r))
            taken += r["free"]
        if not wanted:
            if replicas < 2 or shed <= 0:
                return [], []
            smallest = sorted(mine, key=lambda r: (r["held"], r["security_id"]))
            return [], [_key(r) for r in smallest[:min(len(mine) - share, shed)]]
        found = await conn.fetch(
            "UPDATE deployments SET owner = $1 WHERE id IN (SELECT d.id FROM deployments d"
            "   LEFT JOIN engine_leases l ON l.owner = d.owner WHERE d.status = ANY($2)"
            "   AND (d.owner IS NULL OR l.lease_until IS NULL OR l.lease_until < now())"
            "   AND (d.timeframe, d.segment, d.security_id) IN"
            "     (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))"
            "   ORDER BY d.created_at LIMIT $6 FOR UPDATE OF d SKIP LOCKED) RETURNING *",
            owner, list(_RUNNING), *(list(col) for col in zip(*wanted, strict=True)), taken)
    return [dict(r) for r in found], []


async def pnl_elsewhere(conn: asyncpg.Connection, owner: str, accounts: list[str],
                        day_start: datetime) -> dict[str, int]:
    """Today's P&L of the accounts' running deployments that this replica does not run, by
    account, as the runners count theirs: trades closed today, plus open quantities at the
    deployment's last price. Nothing while no other replica is live."""
    rows = await conn.fetch(
        "SELECT d.account_id, sum(CASE WHEN t.status = 'closed' THEN"
        "     CASE WHEN t.exit_time >= $3 THEN coalesce(t.pnl_paise, 0) ELSE 0 END"
        "   WHEN t.entry_price_paise IS NULL OR d.last_price_paise IS NULL THEN 0"
        "   ELSE (d.last_price_paise - t.entry_price_paise) * (t.quantity - t.exited_quantity)"
        "     * CASE WHEN d.direction = 'long' THEN 1 ELSE -1 END END)::bigint AS pnl"
        " FROM deployments d JOIN trades t ON t.deployment_id = d.id"
        " WHERE d.account_id = ANY($2) AND d.status = ANY($4) AND d.owner IS DISTINCT FROM $1"
        "   AND EXISTS (SELECT 1 FROM engine_leases l WHERE l.owner <> $1"
        "               AND l.lease_until >= now())"
        " GROUP BY d.account_id", owner, accounts, day_start, list(_RUNNING))
    return {r["account_id"]: int(r["pnl"]) for r in rows}


async def release(conn: asyncpg.Connection, owner: str, ids: list[str]) -> None:
    """Hand deployments back (a rebalance): another replica claims them from their state."""
    await conn.execute("UPDATE deployments SET owner = NULL, updated_at = now()"
                       " WHERE owner = $1 AND id = ANY($2::uuid[])", owner, ids)


async def heartbeat(conn: asyncpg.Connection, owner: str, ttl_s: float) -> set[str]:
    """Extend this replica's lease; return the deployments it still holds."""
    await conn.execute(
        "INSERT INTO engine_leases (owner, lease_until) VALUES ($1, now() + make_interval(secs => $2))"
        " ON CONFLICT (owner) DO UPDATE SET lease_until = EXCLUDED.lease_until", owner, ttl_s)
    rows = await conn.fetch("SELECT id FROM deployments WHERE owner = $1 AND status = ANY($2)",
                            owner, list(_RUNNING))
    return {str(r["id"]) for r in rows}


async def release_all(conn: asyncpg.Connection, owner: str) -> None:
    """Give up this replica's deployments and lease (clean shutdown)."""
    await conn.execute("UPDATE deployments SET owner = NULL WHERE owner = $1", owner)
    await conn.execute("DELETE FROM engine_leases WHERE owner = $1", owner)


# --- intents, trades, logs ----------------------------------------------------------------


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

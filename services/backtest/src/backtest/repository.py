"""SQL of the backtest schema; every query is scoped by the acting user where a user asks."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

_STRATEGY = """
SELECT s.id, s.user_id, s.status, s.latest_version, s.created_at, s.updated_at,
       v.id AS version_id, v.version, v.name, v.description, v.segment, v.security_id, v.symbol,
       v.timeframe, v.entry_rule, v.exit_rule, v.stop_loss_pct, v.target_pct, v.position_size,
       v.max_positions, v.product_type, v.direction, v.created_at AS version_created_at
FROM strategies s JOIN strategy_versions v ON v.strategy_id = s.id
"""


def as_uuid(value: str) -> uuid.UUID | None:
    """Return the UUID of an id, or None when it cannot be one (so it matches nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


async def insert_strategy(conn: asyncpg.Connection, user_id: str, fields: dict[str, Any],
                          status: str = "draft") -> uuid.UUID:
    """Insert a strategy with its version 1; return the strategy id."""
    sid = uuid.uuid4()
    await conn.execute("INSERT INTO strategies (id, user_id, status) VALUES ($1, $2, $3)",
                       sid, user_id, status)
    await insert_version(conn, sid, 1, fields)
    return sid


async def insert_version(conn: asyncpg.Connection, sid: uuid.UUID, version: int,
                         f: dict[str, Any]) -> uuid.UUID:
    """Store a new version and make it the strategy's current one."""
    vid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO strategy_versions (id, strategy_id, version, name, description, segment,"
        " security_id, symbol, timeframe, entry_rule, exit_rule, stop_loss_pct, target_pct,"
        " position_size, max_positions, product_type, direction)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        vid, sid, version, f["name"], f["description"], f["segment"], f["security_id"], f["symbol"],
        f["timeframe"], f["entry_rule"], f["exit_rule"], f["stop_loss_pct"], f["target_pct"],
        f["position_size"], f["max_positions"], f["product_type"], f["direction"])
    await conn.execute("UPDATE strategies SET current_version_id = $2, latest_version = $3,"
                       " updated_at = now() WHERE id = $1", sid, vid, version)
    return vid


async def strategy(conn: asyncpg.Connection, user_id: str, sid: str, version: int | None = None,
                   *, lock: bool = False) -> asyncpg.Record | None:
    """Return a user's strategy at its current version (or at `version`)."""
    key = as_uuid(sid)
    if key is None:
        return None
    cond = "v.version = $3" if version is not None else "v.id = s.current_version_id"
    args: list[Any] = [key, user_id] + ([version] if version is not None else [])
    sql = f"{_STRATEGY} WHERE s.id = $1 AND s.user_id = $2 AND {cond}"
    return await conn.fetchrow(sql + (" FOR UPDATE OF s" if lock else ""), *args)


async def strategy_by_version(conn: asyncpg.Connection, user_id: str, sid: str,
                              vid: str) -> asyncpg.Record | None:
    """Return a user's strategy as of one version id."""
    s, v = as_uuid(sid), as_uuid(vid)
    if s is None or v is None:
        return None
    return await conn.fetchrow(f"{_STRATEGY} WHERE s.id = $1 AND s.user_id = $2 AND v.id = $3",
                               s, user_id, v)


async def list_strategies(conn: asyncpg.Connection, user_id: str, q: Any) -> tuple[list, int]:
    """Return one page of a user's strategies and the total matching."""
    where, args = ["s.user_id = $1", "v.id = s.current_version_id"], [user_id]

    def add(cond: str, value: Any) -> None:
        args.append(value)
        where.append(cond.format(len(args)))

    if q.status:
        add("s.status = ${}", q.status)
    else:
        where.append("s.status <> 'archived'")
    if q.segment:
        add("v.segment = ${}", q.segment)
    if q.security_id:
        add("v.security_id = ${}", q.security_id)
    if q.symbol:
        add("upper(v.symbol) = upper(${})", q.symbol)
    if q.search:
        add("(v.name ILIKE ${0} OR v.description ILIKE ${0})", f"%{_like(q.search)}%")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM strategies s JOIN strategy_versions v"
                                f" ON v.strategy_id = s.id WHERE {cond}", *args)
    rows = await conn.fetch(f"{_STRATEGY} WHERE {cond} ORDER BY s.updated_at DESC, s.id"
                            f" LIMIT {int(q.page_size)} OFFSET {int((q.page - 1) * q.page_size)}", *args)
    return rows, total


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def versions(conn: asyncpg.Connection, sid: uuid.UUID) -> list[asyncpg.Record]:
    """Return every version of a strategy, newest first."""
    return await conn.fetch("SELECT id, version, created_at, entry_rule, exit_rule FROM"
                            " strategy_versions WHERE strategy_id = $1 ORDER BY version DESC", sid)


async def set_status(conn: asyncpg.Connection, sid: uuid.UUID, status: str) -> None:
    """Change a strategy's status."""
    await conn.execute("UPDATE strategies SET status = $2, updated_at = now() WHERE id = $1",
                       sid, status)


async def references(conn: asyncpg.Connection, sid: uuid.UUID) -> int:
    """Count the backtests and deployments that pin a version of this strategy."""
    return await conn.fetchval(
        "SELECT (SELECT count(*) FROM backtests WHERE strategy_id = $1)"
        " + (SELECT count(*) FROM strategy_deployments WHERE strategy_id = $1)", sid)


async def delete_strategy(conn: asyncpg.Connection, sid: uuid.UUID) -> None:
    """Delete a strategy and its versions."""
    await conn.execute("DELETE FROM strategies WHERE id = $1", sid)


async def strategy_owner(conn: asyncpg.Connection, sid: str) -> asyncpg.Record | None:
    """Return a strategy's owner and status whoever asks (for events, not for users)."""
    key = as_uuid(sid)
    if key is None:
        return None
    return await conn.fetchrow("SELECT id, user_id, status FROM strategies WHERE id = $1 FOR UPDATE",
                               key)


async def has_completed_backtest(conn: asyncpg.Connection, sid: uuid.UUID) -> bool:
    """Return whether any backtest of the strategy completed."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM backtests WHERE strategy_id = $1 AND status = 'completed')", sid))


async def set_deployment(conn: asyncpg.Connection, deployment_id: str, sid: uuid.UUID,
                         vid: str | None, active: bool) -> int:
    """Record a deployment as running or stopped; return the strategy's running deployments."""
    await conn.execute(
        "INSERT INTO strategy_deployments (deployment_id, strategy_id, strategy_version_id, active)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (deployment_id) DO UPDATE SET active = $4,"
        " updated_at = now()", deployment_id, sid, as_uuid(vid) if vid else None, active)
    return await conn.fetchval("SELECT count(*) FROM strategy_deployments WHERE strategy_id = $1"
                               " AND active", sid)

"""SQL of backtests and their results."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from .compute import TRADE_COLUMNS, Outcome
from .repository import as_uuid

_BACKTEST = """
SELECT b.id, b.user_id, b.strategy_id, b.strategy_version_id, b.params, b.status, b.progress,
       b.attempts, b.error, b.bars, b.metrics, b.created_at, b.started_at, b.completed_at,
       v.version AS strategy_version, v.name AS strategy_name
FROM backtests b JOIN strategy_versions v ON v.id = b.strategy_version_id
"""


async def insert(conn: asyncpg.Connection, bid: uuid.UUID, user_id: str, sid: uuid.UUID,
                 vid: uuid.UUID, params: dict[str, Any]) -> None:
    """Store a queued backtest."""
    await conn.execute("INSERT INTO backtests (id, user_id, strategy_id, strategy_version_id, params)"
                       " VALUES ($1, $2, $3, $4, $5)", bid, user_id, sid, vid, params)


async def get(conn: asyncpg.Connection, user_id: str | None, bid: str, *,
              lock: bool = False) -> asyncpg.Record | None:
    """Return a backtest (the user's own when `user_id` is given)."""
    key = as_uuid(bid)
    if key is None:
        return None
    if user_id is None:
        sql, args = f"{_BACKTEST} WHERE b.id = $1", [key]
    else:
        sql, args = f"{_BACKTEST} WHERE b.id = $1 AND b.user_id = $2", [key, user_id]
    return await conn.fetchrow(sql + (" FOR UPDATE OF b" if lock else ""), *args)


async def page(conn: asyncpg.Connection, user_id: str, q: Any) -> tuple[list, int]:
    """Return one page of a user's backtests, newest first, and the total matching."""
    where, args = ["b.user_id = $1"], [user_id]
    if q.strategy_id:
        args.append(as_uuid(q.strategy_id))
        where.append(f"b.strategy_id = ${len(args)}")
    if q.status:
        args.append(q.status)
        where.append(f"b.status = ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM backtests b WHERE {cond}", *args)
    rows = await conn.fetch(f"{_BACKTEST} WHERE {cond} ORDER BY b.created_at DESC, b.id"
                            f" LIMIT {int(q.page_size)} OFFSET {int((q.page - 1) * q.page_size)}", *args)
    return rows, total


async def counts(conn: asyncpg.Connection, sid: uuid.UUID) -> asyncpg.Record:
    """Return how many backtests a strategy has, completed ones, best and worst return."""
    return await conn.fetchrow(
        "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'completed') AS completed,"
        " max((metrics->>'totalReturnPct')::float8) AS best,"
        " min((metrics->>'totalReturnPct')::float8) AS worst"
        " FROM backtests WHERE strategy_id = $1", sid)


async def latest_completed(conn: asyncpg.Connection, sid: uuid.UUID) -> str | None:
    """Return the id of a strategy's most recently completed backtest."""
    bid = await conn.fetchval("SELECT id FROM backtests WHERE strategy_id = $1 AND status ="
                              " 'completed' ORDER BY completed_at DESC LIMIT 1", sid)
    return str(bid) if bid else None


async def start(conn: asyncpg.Connection, bid: uuid.UUID, now: Any) -> None:
    """Mark a backtest running (again, after a crashed attempt)."""
    await conn.execute("UPDATE backtests SET status = 'running', attempts = attempts + 1,"
                       " progress = 0, started_at = $2, heartbeat_at = now(), error = NULL"
                       " WHERE id = $1", bid, now)


async def heartbeat(conn: asyncpg.Connection, bid: uuid.UUID) -> None:
    """Record that a running backtest's worker is alive."""
    await conn.execute("UPDATE backtests SET heartbeat_at = now() WHERE id = $1"
                       " AND status = 'running'", bid)


async def lost(conn: asyncpg.Connection, stale_s: float) -> list[asyncpg.Record]:
    """Lock running backtests whose worker has been silent for `stale_s` seconds."""
    return await conn.fetch(
        "SELECT id, user_id, strategy_id, strategy_version_id FROM backtests WHERE status ="
        " 'running' AND heartbeat_at < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED",
        stale_s)


async def progress(conn: asyncpg.Connection, bid: uuid.UUID, percent: int) -> None:
    """Record progress of a running backtest."""
    await conn.execute("UPDATE backtests SET progress = $2 WHERE id = $1 AND status = 'running'",
                       bid, percent)


async def status(conn: asyncpg.Connection, bid: uuid.UUID) -> str | None:
    """Return a backtest's status."""
    return await conn.fetchval("SELECT status FROM backtests WHERE id = $1", bid)


async def complete(conn: asyncpg.Connection, bid: uuid.UUID, out: Outcome, now: Any) -> None:
    """Store every result and the completed status (the caller's transaction makes it atomic)."""
    await conn.execute("DELETE FROM backtest_trades WHERE backtest_id = $1", bid)
    if out.trades:
        await conn.copy_records_to_table("backtest_trades", records=out.trades, columns=TRADE_COLUMNS)
    await conn.execute(
        "UPDATE backtests SET status = 'completed', progress = 100, bars = $2, metrics = $3,"
        " equity_curve = $4, analytics = $5, completed_at = $6 WHERE id = $1",
        bid, out.bars, out.metrics, out.equity_curve, out.analytics, now)


async def finish(conn: asyncpg.Connection, bid: uuid.UUID, status: str, error: str | None,
                 now: Any) -> None:
    """Mark a backtest failed or cancelled."""
    await conn.execute("UPDATE backtests SET status = $2, error = $3, completed_at = $4"
                       " WHERE id = $1", bid, status, error, now)


async def results(conn: asyncpg.Connection, bid: uuid.UUID) -> asyncpg.Record:
    """Return the stored curve and analytics of a backtest."""
    return await conn.fetchrow("SELECT equity_curve, analytics FROM backtests WHERE id = $1", bid)


async def trades(conn: asyncpg.Connection, bid: uuid.UUID, limit: int | None = None,
                 offset: int = 0) -> tuple[list, int]:
    """Return trades of a backtest in order, and how many there are."""
    total = await conn.fetchval("SELECT count(*) FROM backtest_trades WHERE backtest_id = $1", bid)
    sql = ("SELECT seq, entry_time, exit_time, side, qty, entry_paise, exit_paise, gross_paise,"
           " charges_paise, net_paise, exit_reason FROM backtest_trades WHERE backtest_id = $1"
           " ORDER BY seq")
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return await conn.fetch(sql, bid), total

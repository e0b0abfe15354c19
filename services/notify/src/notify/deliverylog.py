"""SQL of the delivery log: one row per notification, channel and target.

Status: `pending` (not tried yet), `failed` (the last attempt failed; another is scheduled),
`sent`, `dead` (out of attempts, or undeliverable; an admin can replay it). Scheduling uses
the database's clock: retries are about real providers in real time.
"""

from __future__ import annotations

import uuid

import asyncpg


async def add(conn: asyncpg.Connection, nid: uuid.UUID, user_id: str, channel: str,
              target: str = "", *, status: str = "pending", delay_s: float = 0.0) -> None:
    """Plan one delivery (a repeat of the same notification, channel and target is ignored)."""
    await conn.execute(
        "INSERT INTO deliveries (id, notification_id, user_id, channel, target, status,"
        " next_attempt_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6,"
        " now() + make_interval(secs => $7), CASE WHEN $6 = 'sent' THEN now() END)"
        " ON CONFLICT (notification_id, channel, target) DO NOTHING",
        uuid.uuid4(), nid, user_id, channel, target, status, delay_s)


async def claim_due(pool: asyncpg.Pool, limit: int, lease_s: float) -> list[asyncpg.Record]:
    """Lease due deliveries to this worker (another worker skips them until the lease ends)."""
    return list(await pool.fetch(
        "UPDATE deliveries d SET locked_until = now() + make_interval(secs => $2), attempts ="
        " d.attempts + 1, updated_at = now() FROM notifications n"
        " WHERE d.id IN (SELECT id FROM deliveries WHERE status IN ('pending', 'failed')"
        "   AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())"
        "   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " AND n.id = d.notification_id"
        " RETURNING d.id, d.notification_id, d.user_id, d.channel, d.target, d.attempts,"
        " n.type, n.title, n.message, n.severity, n.metadata, n.link, n.count, n.visible,"
        " n.created_at, n.updated_at",
        limit, lease_s))


async def mark_sent(pool: asyncpg.Pool, did: uuid.UUID) -> None:
    """Record a successful delivery."""
    await pool.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = now(), locked_until = NULL,"
        " last_error = NULL, updated_at = now() WHERE id = $1", did)


async def mark_failed(pool: asyncpg.Pool, did: uuid.UUID, error: str, retry_in_s: float | None) -> None:
    """Record a failed attempt: retry later, or dead-letter when `retry_in_s` is None."""
    await pool.execute(
        "UPDATE deliveries SET status = CASE WHEN $3::float8 IS NULL THEN 'dead' ELSE 'failed' END,"
        " next_attempt_at = now() + make_interval(secs => coalesce($3::float8, 0)),"
        " locked_until = NULL, last_error = $2, updated_at = now() WHERE id = $1",
        did, error[:1000], retry_in_s)


async def redact_account_mail(pool: asyncpg.Pool, nid: uuid.UUID) -> None:
    """Forget the single-use link of a sent account mail (it must not linger here)."""
    await pool.execute("UPDATE notifications SET link = NULL, metadata = '{}' WHERE id = $1"
                       " AND NOT visible", nid)


async def dead_letters(conn: asyncpg.Connection, *, channel: str | None, user_id: str | None,
                       limit: int, offset: int) -> tuple[list[asyncpg.Record], int]:
    """Return one page of dead deliveries (newest first) and the total."""
    where = "status = 'dead' AND ($1::text IS NULL OR channel = $1)" \
        " AND ($2::text IS NULL OR user_id = $2)"
    rows = await conn.fetch(
        "SELECT id, notification_id, user_id, channel, target, attempts, last_error, created_at,"
        f" updated_at FROM deliveries WHERE {where} ORDER BY updated_at DESC, id"
        " LIMIT $3 OFFSET $4", channel, user_id, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM deliveries WHERE {where}", channel, user_id)
    return list(rows), int(total)


async def replay(conn: asyncpg.Connection, ids: list[str]) -> int:
    """Put dead deliveries back to pending with fresh attempts; return how many."""
    keys = [uuid.UUID(i) for i in ids if _is_uuid(i)]
    if ids and not keys:
        return 0  # named ids that cannot exist must not turn into "replay everything"
    status = await conn.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),"
        " locked_until = NULL, updated_at = now() WHERE status = 'dead'"
        " AND (cardinality($1::uuid[]) = 0 OR id = ANY($1::uuid[]))", keys)
    return int(status.split()[-1])


async def statuses(conn: asyncpg.Connection, nid: uuid.UUID) -> dict[tuple[str, str], str]:
    """Return the status of each delivery of one notification (tests and admin views)."""
    rows = await conn.fetch("SELECT channel, target, status FROM deliveries"
                            " WHERE notification_id = $1", nid)
    return {(r["channel"], r["target"]): r["status"] for r in rows}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

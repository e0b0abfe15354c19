"""SQL of the notify schema: notifications, preferences, contacts, webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from .prefs import UserPrefs

_N_COLS = ("id, user_id, type, title, message, severity, metadata, link, is_read, count,"
           " visible, deleted, created_at, updated_at")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def find_group(conn: asyncpg.Connection, user_id: str, kind: str, key: str,
                     since: datetime) -> asyncpg.Record | None:
    """Return (locked) the live notification a repeat within the window groups into."""
    return await conn.fetchrow(
        f"SELECT {_N_COLS} FROM notifications WHERE user_id = $1 AND type = $2 AND group_key = $3"
        " AND last_seen_at >= $4 AND visible AND NOT deleted"
        " ORDER BY last_seen_at DESC LIMIT 1 FOR UPDATE",
        user_id, kind, key, since)


async def insert_notification(conn: asyncpg.Connection, *, user_id: str, kind: str, title: str,
                              message: str, severity: str, metadata: dict[str, Any],
                              link: str | None, group_key: str, visible: bool,
                              now: datetime) -> asyncpg.Record:
    """Store a new notification and return it."""
    return await conn.fetchrow(
        "INSERT INTO notifications (id, user_id, type, title, message, severity, metadata, link,"
        " group_key, visible, last_seen_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)"
        f" RETURNING {_N_COLS}",
        uuid.uuid4(), user_id, kind, title, message, severity, metadata, link, group_key,
        visible, now)


async def bump(conn: asyncpg.Connection, nid: uuid.UUID, *, message: str,
               metadata: dict[str, Any], now: datetime) -> asyncpg.Record:
    """Count one more repeat into a notification; it is unread again."""
    return await conn.fetchrow(
        "UPDATE notifications SET count = count + 1, message = $2, metadata = $3, is_read = false,"
        f" last_seen_at = $4, updated_at = $4 WHERE id = $1 RETURNING {_N_COLS}",
        nid, message, metadata, now)


async def list_page(conn: asyncpg.Connection, user_id: str, *, kind: str | None,
                    severity: str | None, is_read: bool | None, limit: int,
                    offset: int) -> tuple[list[asyncpg.Record], int]:
    """Return one page of the user's visible notifications (newest first) and the total."""
    where = "user_id = $1 AND visible AND NOT deleted" \
        " AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR severity = $3)" \
        " AND ($4::boolean IS NULL OR is_read = $4)"
    args = (user_id, kind, severity, is_read)
    rows = await conn.fetch(f"SELECT {_N_COLS} FROM notifications WHERE {where}"
                            " ORDER BY updated_at DESC, id LIMIT $5 OFFSET $6", *args, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM notifications WHERE {where}", *args)
    return list(rows), int(total)


async def unread_count(conn: asyncpg.Connection, user_id: str) -> int:
    """Return how many visible notifications of the user are unread."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND NOT is_read AND visible"
        " AND NOT deleted", user_id))


async def set_read(conn: asyncpg.Connection, user_id: str, nid: str,
                   now: datetime) -> asyncpg.Record | None:
    """Mark one of the user's notifications read; None when it is not theirs or gone."""
    key = _uuid(nid)
    if key is None:
        return None
    return await conn.fetchrow(
        f"UPDATE notifications SET is_read = true, updated_at = $3 WHERE id = $1 AND user_id = $2"
        f" AND visible AND NOT deleted RETURNING {_N_COLS}", key, user_id, now)


async def set_all_read(conn: asyncpg.Connection, user_id: str, now: datetime) -> int:
    """Mark every unread notification of the user read; return how many changed."""
    status = await conn.execute(
        "UPDATE notifications SET is_read = true, updated_at = $2 WHERE user_id = $1"
        " AND NOT is_read AND visible AND NOT deleted", user_id, now)
    return int(status.split()[-1])


async def soft_delete(conn: asyncpg.Connection, user_id: str, nid: str,
                      now: datetime) -> asyncpg.Record | None:
    """Hide one of the user's notifications (its delivery log stays for the admin)."""
    key = _uuid(nid)
    if key is None:
        return None
    return await conn.fetchrow(
        f"UPDATE notifications SET deleted = true, updated_at = $3 WHERE id = $1 AND user_id = $2"
        f" AND visible AND NOT deleted RETURNING {_N_COLS}", key, user_id, now)


async def get_prefs(conn: asyncpg.Connection, user_id: str) -> UserPrefs:
    """Return the user's stored preferences (defaults when none)."""
    row = await conn.fetchrow("SELECT * FROM preferences WHERE user_id = $1", user_id)
    if row is None:
        return UserPrefs()
    return UserPrefs(overrides=row["channels"] or {}, quiet_enabled=row["quiet_enabled"],
                     quiet_start=row["quiet_start"], quiet_end=row["quiet_end"], phone=row["phone"])


async def save_prefs(conn: asyncpg.Connection, user_id: str, p: UserPrefs) -> None:
    """Store the user's preferences."""
    await conn.execute(
        "INSERT INTO preferences (user_id, channels, quiet_enabled, quiet_start, quiet_end, phone)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET"
        " channels = $2, quiet_enabled = $3, quiet_start = $4, quiet_end = $5, phone = $6,"
        " updated_at = now()",
        user_id, p.overrides, p.quiet_enabled, p.quiet_start, p.quiet_end, p.phone)


async def upsert_contact(conn: asyncpg.Connection, user_id: str, email: str, name: str) -> None:
    """Remember the user's e-mail address and name (learned from auth)."""
    await conn.execute(
        "INSERT INTO contacts (user_id, email, name) VALUES ($1, $2, $3) ON CONFLICT (user_id)"
        " DO UPDATE SET email = $2, name = CASE WHEN $3 = '' THEN contacts.name ELSE $3 END,"
        " updated_at = now()", user_id, email, name)


async def get_contact(conn: asyncpg.Connection, user_id: str) -> asyncpg.Record | None:
    """Return the user's e-mail address and name, if known."""
    return await conn.fetchrow("SELECT email, name FROM contacts WHERE user_id = $1", user_id)


async def active_webhooks(conn: asyncpg.Connection, user_id: str) -> list[asyncpg.Record]:
    """Return the user's active webhooks."""
    return list(await conn.fetch(
        "SELECT id, url, secret, description, types, active, created_at FROM webhooks"
        " WHERE user_id = $1 AND active ORDER BY created_at", user_id))


async def get_webhook(conn: asyncpg.Connection, user_id: str, wid: str) -> asyncpg.Record | None:
    """Return one of the user's active webhooks."""
    key = _uuid(wid)
    if key is None:
        return None
    return await conn.fetchrow(
        "SELECT id, url, secret, description, types, active, created_at FROM webhooks"
        " WHERE id = $1 AND user_id = $2 AND active", key, user_id)


async def insert_webhook(conn: asyncpg.Connection, user_id: str, url: str, secret: str,
                         description: str, types: list[str]) -> asyncpg.Record:
    """Register a webhook."""
    return await conn.fetchrow(
        "INSERT INTO webhooks (id, user_id, url, secret, description, types)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " RETURNING id, url, secret, description, types, active, created_at",
        uuid.uuid4(), user_id, url, secret, description, types)


async def deactivate_webhook(conn: asyncpg.Connection, user_id: str, wid: str) -> bool:
    """Remove one of the user's webhooks; its undelivered posts go with it (the user's choice)."""
    key = _uuid(wid)
    if key is None:
        return False
    async with conn.transaction():
        gone = await conn.fetchval(
            "UPDATE webhooks SET active = false WHERE id = $1 AND user_id = $2 AND active"
            " RETURNING true", key, user_id) is not None
        if gone:
            await conn.execute("DELETE FROM deliveries WHERE channel = 'webhook' AND target = $1"
                               " AND status IN ('pending', 'failed')", str(key))
    return gone

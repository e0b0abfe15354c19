"""SQL for personal API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.auth import ApiKeyInfo

from .repository import Conn, Row

_COLS = "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at"


def to_info(row: Row) -> ApiKeyInfo:
    """Map an api_keys row to the reply model (never the secret)."""
    return ApiKeyInfo(id=str(row["id"]), name=row["name"], prefix=row["prefix"],
                      created_at=row["created_at"], expires_at=row["expires_at"],
                      last_used_at=row["last_used_at"], revoked_at=row["revoked_at"])


async def count_live(conn: Conn, user_id: uuid.UUID, now: datetime) -> int:
    """Count a user's keys that are neither revoked nor expired."""
    return await conn.fetchval(
        "SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > $2)", user_id, now,
    )


async def insert(conn: Conn, *, key_id: uuid.UUID, user_id: uuid.UUID, name: str, prefix: str,
                 secret_hash: bytes, now: datetime, expires_at: datetime | None) -> Row:
    """Store a new key; raises UniqueViolationError on a (vanishingly rare) prefix clash."""
    return await conn.fetchrow(
        f"INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, created_at, expires_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLS}",
        key_id, user_id, name, prefix, secret_hash, now, expires_at,
    )


async def list_for(conn: Conn, user_id: uuid.UUID) -> list[Row]:
    """List a user's keys, newest first."""
    return await conn.fetch(
        f"SELECT {_COLS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id", user_id)


async def revoke(conn: Conn, key_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> Row | None:
    """Revoke one of the user's keys (idempotent); None when it is not theirs."""
    return await conn.fetchrow(
        f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)"
        f" WHERE id = $1 AND user_id = $2 RETURNING {_COLS}", key_id, user_id, now,
    )


async def by_prefix(conn: Conn, prefix: str) -> Row | None:
    """Find a key and its owner's standing by the key's public prefix."""
    return await conn.fetchrow(
        "SELECT k.id, k.user_id, k.secret_hash, k.expires_at, k.revoked_at, k.last_used_at,"
        " u.role, u.status, u.email_verified_at FROM api_keys k JOIN users u ON u.id = k.user_id"
        " WHERE k.prefix = $1", prefix,
    )


async def touch(conn: Conn, key_id: uuid.UUID, now: datetime) -> None:
    """Record that a key was used."""
    await conn.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, now)

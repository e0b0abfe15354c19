"""SQL for users, sessions and single-use tokens (the pool's search_path is the auth schema).

Every function takes the caller's connection, so a use case decides the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from contracts.auth import Role, User, UserStatus

from .domain import like_pattern

Conn = asyncpg.Connection
Row = asyncpg.Record

_USER_COLS = ("id, email, name, phone, password_hash, role, status, email_verified_at,"
              " totp_secret, totp_pending, totp_enabled_at, totp_last_step, preferences,"
              " created_at, updated_at, last_login_at")


def to_user(row: Row) -> User:
    """Map a users row to the reply model."""
    return User(
        id=str(row["id"]), email=row["email"], name=row["name"], phone=row["phone"],
        role=Role(row["role"]), status=UserStatus(row["status"]),
        email_verified=row["email_verified_at"] is not None,
        two_factor_enabled=row["totp_enabled_at"] is not None,
        created_at=row["created_at"], last_login_at=row["last_login_at"],
    )


# --- users ------------------------------------------------------------------------


async def insert_user(conn: Conn, *, user_id: uuid.UUID, email: str, name: str,
                      phone: str | None, password_hash: str, role: str, now: datetime,
                      verified_at: datetime | None = None) -> Row:
    """Insert a user; raises asyncpg.UniqueViolationError when the e-mail is taken."""
    return await conn.fetchrow(
        f"INSERT INTO users (id, email, name, phone, password_hash, role, email_verified_at,"
        f" created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        f" RETURNING {_USER_COLS}",
        user_id, email, name, phone, password_hash, role, verified_at, now,
    )


async def user_by_email(conn: Conn, email: str) -> Row | None:
    """Find a user by e-mail (case-insensitive)."""
    return await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE lower(email) = lower($1)",
                               email)


async def user_by_id(conn: Conn, user_id: uuid.UUID, *, lock: bool = False) -> Row | None:
    """Find a user by id (optionally locking the row for the transaction)."""
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1{suffix}", user_id)


async def update_user(conn: Conn, user_id: uuid.UUID, now: datetime, **fields: Any) -> Row | None:
    """Set the given columns (names are fixed by the callers) and return the row."""
    names = list(fields)
    sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE users SET {sets}, updated_at = $2 WHERE id = $1 RETURNING {_USER_COLS}",
        user_id, now, *fields.values(),
    )


async def list_users(conn: Conn, *, q: str | None, status: str | None, role: str | None,
                     limit: int, offset: int) -> tuple[list[Row], int]:
    """Search users by e-mail or name, newest first; return a page and the total."""
    where, args = ["TRUE"], []
    if q:
        args.append(like_pattern(q))
        where.append(f"(email ILIKE ${len(args)} OR name ILIKE ${len(args)})")
    if status:
        args.append(status)
        where.append(f"status = ${len(args)}")
    if role:
        args.append(role)
        where.append(f"role = ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM users WHERE {cond}", *args)
    rows = await conn.fetch(
        f"SELECT {_USER_COLS} FROM users WHERE {cond} ORDER BY created_at DESC, id"
        f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}", *args, limit, offset,
    )
    return rows, total


# --- sessions and refresh tokens ----------------------------------------------------


async def insert_session(conn: Conn, *, session_id: uuid.UUID, user_id: uuid.UUID,
                         now: datetime, expires_at: datetime, ip: str | None,
                         user_agent: str | None) -> None:
    """Start a refresh-token family."""
    await conn.execute(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ip, user_agent)"
        " VALUES ($1, $2, $3, $3, $4, $5, $6)",
        session_id, user_id, now, expires_at, ip, user_agent,
    )


async def insert_refresh(conn: Conn, *, token_hash: bytes, session_id: uuid.UUID,
                         now: datetime, expires_at: datetime) -> None:
    """Store the digest of a refresh token of a session."""
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)"
        " VALUES ($1, $2, $3, $4)", token_hash, session_id, now, expires_at,
    )


async def refresh_for_update(conn: Conn, token_hash: bytes) -> Row | None:
    """Lock a refresh token with its session and user (serialises concurrent refreshes)."""
    return await conn.fetchrow(
        "SELECT r.token_hash, r.used_at, r.expires_at, s.id AS session_id, s.revoked_at,"
        " s.user_id, u.status FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id"
        " JOIN users u ON u.id = s.user_id WHERE r.token_hash = $1 FOR UPDATE OF r, s",
        token_hash,
    )


async def spend_refresh(conn: Conn, token_hash: bytes, now: datetime) -> None:
    """Mark a refresh token used (it can never be presented again)."""
    await conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1",
                       token_hash, now)


async def touch_session(conn: Conn, session_id: uuid.UUID, now: datetime,
                        expires_at: datetime) -> None:
    """Record a refresh and slide the session's expiry."""
    await conn.execute("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1",
                       session_id, now, expires_at)


async def session_of_refresh(conn: Conn, token_hash: bytes) -> Row | None:
    """Return the session (id, user_id) a refresh token belongs to."""
    return await conn.fetchrow(
        "SELECT s.id, s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id"
        " WHERE r.token_hash = $1", token_hash,
    )


async def revoke_sessions(conn: Conn, user_id: uuid.UUID, now: datetime, reason: str, *,
                          only: uuid.UUID | None = None,
                          keep: uuid.UUID | None = None) -> list[str]:
    """Revoke a user's live sessions (one, all, or all but one); return their ids."""
    rows = await conn.fetch(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3"
        " WHERE user_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR id = $4)"
        " AND ($5::uuid IS NULL OR id <> $5) RETURNING id",
        user_id, now, reason, only, keep,
    )
    return [str(r["id"]) for r in rows]


# --- single-use tokens (verification, reset), 2FA challenges, recovery codes ---------


async def insert_one_time(conn: Conn, *, token_hash: bytes, user_id: uuid.UUID, purpose: str,
                          now: datetime, expires_at: datetime) -> None:
    """Store a new single-use token, spending any earlier one of the same purpose."""
    await conn.execute(
        "UPDATE one_time_tokens SET used_at = $3"
        " WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL", user_id, purpose, now,
    )
    await conn.execute(
        "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)", token_hash, user_id, purpose, now, expires_at,
    )


async def consume_one_time(conn: Conn, token_hash: bytes, purpose: str,
                           now: datetime) -> uuid.UUID | None:
    """Spend a live single-use token; return its user, or None if unknown/spent/expired."""
    return await conn.fetchval(
        "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2"
        " AND used_at IS NULL AND expires_at > $3 RETURNING user_id", token_hash, purpose, now,
    )


async def insert_challenge(conn: Conn, *, token_hash: bytes, user_id: uuid.UUID, now: datetime,
                           expires_at: datetime, ip: str | None, user_agent: str | None) -> None:
    """Store a 2FA sign-in challenge."""
    await conn.execute(
        "INSERT INTO login_challenges (token_hash, user_id, created_at, expires_at, ip, user_agent)"
        " VALUES ($1, $2, $3, $4, $5, $6)", token_hash, user_id, now, expires_at, ip, user_agent,
    )


async def challenge_for_update(conn: Conn, token_hash: bytes) -> Row | None:
    """Lock a challenge row."""
    return await conn.fetchrow("SELECT * FROM login_challenges WHERE token_hash = $1 FOR UPDATE",
                               token_hash)


async def update_challenge(conn: Conn, token_hash: bytes, *, attempts: int,
                           used_at: datetime | None) -> None:
    """Record an attempt (and the success that spends it)."""
    await conn.execute(
        "UPDATE login_challenges SET attempts = $2, used_at = $3 WHERE token_hash = $1",
        token_hash, attempts, used_at,
    )


async def replace_recovery_codes(conn: Conn, user_id: uuid.UUID, digests: list[bytes]) -> None:
    """Replace a user's recovery codes (pass [] to delete them)."""
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    if digests:
        await conn.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                               [(user_id, d) for d in digests])


async def use_recovery_code(conn: Conn, user_id: uuid.UUID, digest: bytes, now: datetime) -> bool:
    """Spend an unused recovery code; False if unknown or already used."""
    used = await conn.fetchval(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2"
        " AND used_at IS NULL RETURNING 1", user_id, digest, now,
    )
    return used is not None

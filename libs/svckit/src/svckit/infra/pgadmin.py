"""Databases, per-service roles and schemas: the same code for `make run` and for tests.

Each service gets a LOGIN role with a password, a schema named after the service owned by
that role, CONNECT on its database, and nothing else: PUBLIC loses its rights on schema
public and on the database, so one service cannot read another's tables.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """Return `name` double-quoted after checking it is a plain lower-case SQL identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when a loop runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()  # not installed as the thread's loop: leaves pytest's alone
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def dsn_with(
    dsn: str, *, user: str | None = None, password: str | None = None, database: str | None = None
) -> str:
    """Return `dsn` with its user, password and/or database replaced."""
    p = urlsplit(dsn)
    u = user if user is not None else (p.username or "")
    pw = password if password is not None else (p.password or "")
    auth = quote(u, safe="") + (":" + quote(pw, safe="") if pw else "")
    hostport = p.hostname or "127.0.0.1"
    if ":" in hostport:
        hostport = f"[{hostport}]"
    if p.port:
        hostport += f":{p.port}"
    path = "/" + database if database is not None else p.path
    return urlunsplit((p.scheme, f"{auth}@{hostport}" if auth else hostport, path, p.query, ""))


def database_of(dsn: str) -> str:
    """Return the database name a DSN points at."""
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def can_login(dsn: str, timeout: float = 3.0) -> str | None:
    """Try to log in; return None on success or the reason it failed."""
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    await conn.close()
    return None


async def create_database(admin_dsn: str, name: str) -> str:
    """Create database `name` unless it exists; return the admin DSN pointing at it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f"CREATE DATABASE {ident(name)}")
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()
    return dsn_with(admin_dsn, database=name)


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database `name`, cutting its connections first."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        await conn.execute(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


async def drop_role(admin_dsn: str, role: str) -> None:
    """Drop a role (its database objects must already be gone)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP ROLE IF EXISTS {ident(role)}")
    finally:
        await conn.close()


async def create_service_role(
    admin_dsn: str,
    db: str,
    service: str,
    *,
    role: str | None = None,
    password: str | None = None,
) -> str:
    """Create (or update) the service's role and schema in `db`; return the role's DSN.

    The schema is named after the service; the role defaults to the service name too (tests
    pass a unique one, since roles are cluster-wide). Safe to call again on every start.
    """
    role = role or service
    password = password or secrets.token_hex(24)
    r, s, d = ident(role), ident(service), ident(db)
    conn = await asyncpg.connect(admin_dsn)
    try:
        attrs = f"LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {_literal(password)}"
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"ALTER ROLE {r} WITH {attrs}")
        else:
            try:
                await conn.execute(f"CREATE ROLE {r} WITH {attrs}")
            except asyncpg.DuplicateObjectError:
                await conn.execute(f"ALTER ROLE {r} WITH {attrs}")
        await conn.execute(f"REVOKE ALL ON DATABASE {d} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {r}")
        await conn.execute(f"ALTER ROLE {r} IN DATABASE {d} SET search_path = {s}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn_with(admin_dsn, database=db))
    try:
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {r}")
        await conn.execute(f"ALTER SCHEMA {s} OWNER TO {r}")
    finally:
        await conn.close()
    return dsn_with(admin_dsn, user=role, password=password, database=db)

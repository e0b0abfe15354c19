"""SQL migration runner: ordered files, advisory lock, recorded, edits refused.

Files are `NNNN_name.sql` inside a package directory. svckit's own plumbing tables (outbox,
inbox) are applied first under the `svckit/` namespace, then the service's. Each file runs
in one transaction together with its record, so a failed migration leaves nothing behind.
A file whose content changed after it was applied is refused: migrations are append-only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

from .logging import get_logger

log = get_logger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """Migrations cannot be applied safely."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    key: str
    sql: str

    @property
    def checksum(self) -> str:
        """Return the SHA-256 of the file's content."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(package: str | Path, namespace: str | None = None, folder: str = "migrations") -> list[Migration]:
    """Load the migration files of a package (or of a directory), in order."""
    root: Traversable | Path = (
        package / folder if isinstance(package, Path) else resources.files(package).joinpath(folder)
    )
    if isinstance(package, Path):
        package = namespace or package.name
    files = sorted((f for f in root.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    out = []
    for f in files:
        if not _NAME.match(f.name):
            raise MigrationError(f"{package}/{folder}/{f.name}: name must look like 0001_init.sql")
        out.append(Migration(key=f"{namespace or package}/{f.name}", sql=f.read_text()))
    return out


def builtin() -> list[Migration]:
    """Return svckit's own migrations (outbox and inbox tables)."""
    return load("svckit", "svckit", folder="sql")


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply pending migrations to `schema` under an advisory lock; return the keys applied."""
    applied: list[str] = []
    lock_key = int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " key text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["key"]: r["checksum"] for r in await conn.fetch("SELECT key, checksum FROM schema_migrations")}
        for m in migrations:
            if m.key in done:
                if done[m.key] != m.checksum:
                    raise MigrationError(
                        f"{m.key} was edited after it was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (key, checksum) VALUES ($1, $2)", m.key, m.checksum
                )
            applied.append(m.key)
            log.info("migration.applied", key=m.key, schema=schema)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied

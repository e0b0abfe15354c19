"""`python -m brokerage rotate-keys`: re-wrap every credential data key under the active key."""

from __future__ import annotations

import asyncpg

from . import repository as repo
from .crypto import KeyRing, associated_data
from .settings import BrokerageSettings


async def rotate_keys(settings: BrokerageSettings) -> int:
    """Re-wrap data keys still under an older master key; return how many rows changed."""
    ring = KeyRing.parse(settings.credential_keys.get_secret_value())
    conn = await asyncpg.connect(settings.dsn(), server_settings={"search_path": settings.schema()})
    changed = 0
    try:
        async with conn.transaction():
            for row in await repo.sealed_accounts(conn):
                blob = ring.rewrap(row["credentials"],
                                   associated_data(row["user_id"], str(row["id"])))
                if blob is None:
                    continue
                await repo.update_account(conn, str(row["id"]), credentials=blob,
                                          credential_kid=ring.active)
                changed += 1
    finally:
        await conn.close()
    return changed

"""asyncpg pool bound to the service's own schema and role."""

from __future__ import annotations

import json

import asyncpg

from .settings import ServiceSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Reset nothing beyond what asyncpg always does (roll back, drop Python listeners)."""


async def create_pool(settings: ServiceSettings, **overrides: object) -> asyncpg.Pool:
    """Open a pool whose connections search only the service's schema."""
    schema = settings.schema()
    opts: dict[str, object] = {
        "min_size": settings.db_pool_min,
        "max_size": settings.db_pool_max,
        "init": _init_connection,
        "server_settings": {
            "search_path": schema,
            "application_name": f"{settings.service_name}:{settings.instance_id}"[:63],
        },
        "command_timeout": 30,
    }
    if settings.db_light_reset:
        opts["reset"] = _keep_session
    opts.update(overrides)
    return await asyncpg.create_pool(settings.dsn(), **opts)

"""Local infrastructure: probe NATS/Postgres/Redis and start embedded ones from wheels.

Used by the pytest plugin (`svckit.testing.plugin`) and the `make run` launcher
(`svckit.devrun`). Nothing here starts anything at import time.
"""

from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import (
    can_login,
    create_database,
    create_service_role,
    database_of,
    drop_database,
    drop_role,
    dsn_with,
    run_sync,
)
from svckit.infra.postgres import remove_cluster, start_postgres
from svckit.infra.probe import (
    areachable,
    free_port,
    http_status,
    nats_info,
    nats_reachable,
    port_open,
    postgres_reachable,
    reachable,
    redis_reachable,
    wait_for,
)
from svckit.infra.procs import RunAs, has_exited, spawn, stop_process
from svckit.infra.redis import start_redis
from svckit.infra.server import EmbeddedServer, ServerStartError

__all__ = [
    "EmbeddedServer", "RunAs", "ServerStartError", "areachable", "can_login", "create_database",
    "create_service_role", "database_of", "drop_database", "drop_role", "dsn_with", "free_port",
    "has_exited", "http_status", "nats_info", "nats_reachable", "port_open", "postgres_reachable",
    "reachable", "redis_reachable", "remove_cluster", "run_sync", "spawn", "start_nats", "start_postgres",
    "start_redis", "stop_process", "wait_for",
]

"""pytest fixtures that give each test real, isolated NATS, Postgres and Redis.

The repository's root conftest.py loads it for every test tree (pytest refuses
`pytest_plugins` in a conftest below the root, so sub-directory conftests must not repeat it).

- `nats_url` (per test): a fresh nats-server with JetStream and an empty store. With
  TEST_NATS_URL set, that server is shared instead and every stream the test created is
  deleted afterwards. Trade-off: a shared server is faster to reach but only streams are
  cleaned up; consumers or messages a test adds to streams that existed before it stay,
  and tests running at the same time see each other's core-NATS traffic.
- `pg_admin_dsn` (session): TEST_DATABASE_URL (a superuser DSN) or an embedded Postgres.
  `pg_dsn` (per test): a new database `t_<hex>`, dropped afterwards, with admin rights.
  `pg_service_dsn("auth")` (per test): the DSN of a fresh role owning schema `auth` in that
  database, made by the same `create_service_role` that `make run` uses.
- `redis_url` (session): TEST_REDIS_URL or an embedded redis-server. `redis_prefix` (per
  test): `t:<hex>:`; keys under it are deleted after the test.

Fixtures start servers only when a test asks for them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import (
    create_database,
    create_service_role,
    database_of,
    drop_database,
    drop_role,
    run_sync,
)
from svckit.infra.postgres import start_postgres
from svckit.infra.redis import start_redis
from svckit.testing.natsclean import delete_streams_except, stream_names


@pytest.fixture
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Give the test a NATS server with JetStream and no streams of other tests."""
    shared = os.environ.get("TEST_NATS_URL")
    if shared:
        before = run_sync(stream_names(shared))
        yield shared
        run_sync(delete_streams_except(shared, before))
        return
    with start_nats(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """Give the session a Postgres superuser DSN (TEST_DATABASE_URL or an embedded server)."""
    shared = os.environ.get("TEST_DATABASE_URL")
    if shared:
        yield shared
        return
    # Not under pytest's tmp dir: that is mode 700 and, as root, postgres runs as another user.
    base = Path(tempfile.mkdtemp(prefix="svckit-pg-"))
    try:
        with start_postgres(base, durable=False) as server:
            yield server.url
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """Give the test its own new database (superuser DSN), dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    dsn = run_sync(create_database(pg_admin_dsn, name))
    yield dsn
    run_sync(drop_database(pg_admin_dsn, name))


@pytest.fixture
def pg_service_dsn(pg_admin_dsn: str, pg_dsn: str) -> Iterator[Callable[[str], str]]:
    """Give the test a factory: service name -> DSN of a role owning that schema in `pg_dsn`."""
    db = database_of(pg_dsn)
    roles: list[str] = []

    def make(service: str) -> str:
        role = f"{db}_{service}"[:63]
        roles.append(role)
        return run_sync(create_service_role(pg_admin_dsn, db, service, role=role))

    yield make
    if roles:
        # The role's schema lives in the test database: drop that first, then the roles.
        run_sync(drop_database(pg_admin_dsn, db))
        for role in roles:
            run_sync(drop_role(pg_admin_dsn, role))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Give the session a Redis URL (TEST_REDIS_URL or an embedded server)."""
    shared = os.environ.get("TEST_REDIS_URL")
    if shared:
        yield shared
        return
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """Give the test a unique key prefix; its keys are deleted after the test."""
    prefix = f"t:{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        batch = [k for k in client.scan_iter(match=prefix + "*", count=500)]
        for i in range(0, len(batch), 500):
            client.delete(*batch[i:i + 500])
    finally:
        client.close()



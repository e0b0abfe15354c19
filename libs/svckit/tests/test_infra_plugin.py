"""The pytest plugin gives every test its own database, stream store and key prefix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import nats
import pytest
import redis

seen: dict[str, str] = {}


async def test_a_test_gets_a_database_of_its_own(pg_dsn):
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute("CREATE TABLE left_behind (id int)")
    seen["db"] = await conn.fetchval("SELECT current_database()")
    await conn.close()


async def test_the_next_test_gets_another_and_the_first_is_gone(pg_dsn, pg_admin_dsn):
    conn = await asyncpg.connect(pg_dsn)
    mine = await conn.fetchval("SELECT current_database()")
    assert await conn.fetchval("SELECT to_regclass('left_behind')") is None
    await conn.close()
    admin = await asyncpg.connect(pg_admin_dsn)
    dbs = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
    await admin.close()
    assert mine != seen["db"] and seen["db"] not in dbs


async def test_a_service_role_owns_its_schema_and_nothing_else(pg_service_dsn):
    auth, other = pg_service_dsn("auth"), pg_service_dsn("brokerage")
    a = await asyncpg.connect(auth)
    await a.execute("CREATE TABLE users (id int)")  # lands in schema auth via search_path
    assert await a.fetchval("SELECT schemaname FROM pg_tables WHERE tablename = 'users'") == "auth"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await a.execute("CREATE TABLE public.sneaky (id int)")
    await a.close()
    b = await asyncpg.connect(other)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await b.fetch("SELECT * FROM auth.users")
    await b.close()


async def test_a_test_creates_a_stream(nats_url):
    nc = await nats.connect(nats_url)
    await nc.jetstream().add_stream(name="LEFT_BEHIND", subjects=["left.>"])
    seen["nats"] = nats_url
    await nc.close()


async def test_the_next_test_gets_a_fresh_nats_without_streams(nats_url):
    nc = await nats.connect(nats_url)
    assert await nc.jetstream().streams_info() == []
    await nc.close()
    if not os.environ.get("TEST_NATS_URL"):
        assert nats_url != seen["nats"]


def test_a_test_writes_keys_under_its_prefix(redis_url, redis_prefix):
    client = redis.Redis.from_url(redis_url)
    client.mset({f"{redis_prefix}k{i}": i for i in range(1200)})
    seen["prefix"] = redis_prefix
    client.close()


def test_the_previous_tests_keys_are_gone(redis_url, redis_prefix):
    client = redis.Redis.from_url(redis_url)
    assert redis_prefix != seen["prefix"]
    assert list(client.scan_iter(match=seen["prefix"] + "*")) == []
    client.close()


def test_a_test_using_no_fixture_starts_no_server(tmp_path: Path):
    (tmp_path / "test_unit.py").write_text(textwrap.dedent("""
        import os
        from pathlib import Path

        def descendants(pid):
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return [int(k) for k in kids] + [d for k in kids for d in descendants(int(k))]

        def test_pure():
            names = [Path(f"/proc/{p}/comm").read_text().strip() for p in descendants(os.getpid())]
            assert not [n for n in names if n in ("nats-server", "postgres", "redis-server")]
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "svckit.testing.plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_unit.py")],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout

"""`python -m auth migrate`, `create-admin`, and serving until SIGTERM, as real processes."""

import asyncio
import io
import os
import signal
import sys

import asyncpg
import nats
import pytest
from auth.__main__ import main
from contracts import auth as A
from svckit.errors import Unavailable
from svckit.nats import request

pytestmark = pytest.mark.integration


@pytest.fixture
def env(nats_url, pg_service_dsn, redis_url, redis_prefix, tmp_path):
    dsn = pg_service_dsn("auth")
    values = {
        "AUTH_ENVIRONMENT": "test", "AUTH_NATS_URL": nats_url, "AUTH_DATABASE_URL": dsn,
        "AUTH_REDIS_URL": redis_url, "AUTH_REDIS_PREFIX": redis_prefix,
        "AUTH_DEV_SECRETS_DIR": str(tmp_path / "secrets"), "AUTH_ARGON2_TIME_COST": "1",
        "AUTH_ARGON2_MEMORY_KIB": "8192", "AUTH_LOG_JSON": "true",
    }
    return {**os.environ, **values}, dsn


def _main(monkeypatch, environ, *args, stdin: str = "") -> None:
    for key, value in environ.items():
        if key.startswith("AUTH_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    # logging is process-wide: leave the test session's configuration alone
    monkeypatch.setattr("auth.__main__.configure_logging", lambda *a, **k: None)
    main(list(args))


def test_migrate_then_create_admin_from_a_file_or_stdin(env, tmp_path, monkeypatch, capsys):
    environ, dsn = env
    _main(monkeypatch, environ, "migrate")
    assert "auth/0001_init.sql" in capsys.readouterr().out
    _main(monkeypatch, environ, "migrate")
    assert "applied 0 migration(s)" in capsys.readouterr().out

    secret = tmp_path / "admin-password"
    secret.write_text("Admin-password-7\n")
    _main(monkeypatch, environ, "create-admin", "--email", "boss@example.com", "--name", "Boss",
          "--password-file", str(secret))
    assert "boss@example.com" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="at least 8"):
        _main(monkeypatch, environ, "create-admin", "--email", "weak@example.com", stdin="short\n")
    _main(monkeypatch, environ, "create-admin", "--email", "ops@example.com",
          stdin="Ops-password-8\n")
    _main(monkeypatch, environ, "create-admin", "--email", "ops@example.com",
          stdin="Other-password-9\n")
    assert "already existed" in capsys.readouterr().out

    async def users():
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch("SELECT email, role, email_verified_at IS NOT NULL AS ok,"
                                    " password_hash FROM auth.users ORDER BY email")
        finally:
            await conn.close()

    rows = asyncio.run(users())
    assert [(r["email"], r["role"], r["ok"]) for r in rows] == [
        ("boss@example.com", "admin", True), ("ops@example.com", "admin", True)]
    assert all(r["password_hash"].startswith("$argon2id$") for r in rows)


async def test_serves_until_sigterm_and_exits_cleanly(env, nats_url):
    environ, _ = env
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "auth", env=environ, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    nc = await nats.connect(nats_url)
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while True:
            try:
                jwks = await request(nc, A.JWKS, {}, timeout=1)
                break
            except Unavailable:  # not up yet: no responders or no answer in time
                assert loop.time() < end and proc.returncode is None, "auth never answered"
                await asyncio.sleep(0.1)
        assert jwks["keys"][0]["kty"] == "OKP"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await nc.close()

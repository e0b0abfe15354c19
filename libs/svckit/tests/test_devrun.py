"""The launcher starts the manifest's processes against real servers and stops them all."""

from __future__ import annotations

import io
import json
import secrets
import socket
import time
from pathlib import Path

import asyncpg
import pytest
from svckit.devrun import Console, Platform, PlatformError, Process, parse_manifest
from svckit.infra import drop_database, drop_role, free_port, http_status, run_sync


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_all_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [p for p in pids if not gone(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def fake(name: str, **extra) -> dict:
    prefix = name.upper() + "_"
    return {"name": name, "module": "svckit.testing.fakesvc", "env_prefix": prefix, "args": [prefix],
            "ops_port": free_port(), **extra}


@pytest.fixture
def platform_args(nats_url, pg_admin_dsn, redis_url, redis_prefix, tmp_path):
    tag = secrets.token_hex(4)
    args = {"nats_url": nats_url, "admin_dsn": pg_admin_dsn, "redis_url": redis_url,
            "run_dir": tmp_path / ".run", "database": f"t_{tag}", "role_prefix": f"t{tag}_",
            "redis_prefix": redis_prefix, "ready_timeout": 30, "grace": 5}
    yield args
    run_sync(drop_database(pg_admin_dsn, args["database"]))
    for name in ("one", "two"):
        run_sync(drop_role(pg_admin_dsn, f"t{tag}_{name}"))


def test_processes_start_ready_with_their_env_and_leave_nothing_behind(platform_args, tmp_path):
    dump = tmp_path / "one.json"
    port = free_port()  # "two" is known to be up by a URL of its own, like the simulator
    manifest = parse_manifest({"process": [
        fake("one", schema=True, env={"ONE_DUMP": str(dump), "ONE_KEY": "{secret_file:jwt_signing_key}"}),
        fake("two", provides_clock=True, ops_port=port,
             ready=f"http://127.0.0.1:{port}/readyz"),
    ]})
    out = io.StringIO()
    platform = Platform(manifest, console=Console(out), **platform_args)
    with platform:
        for run in platform.running:
            assert http_status(f"http://127.0.0.1:{run.ops_port}/readyz") == 200
        # `make status` shows the ops URL of a service, the ready URL of anything else
        assert [(p["ops_port"], p["ready"]) for p in platform.describe()] == [
            (platform.running[0].ops_port, None), (None, f"http://127.0.0.1:{port}/readyz")]
        pids = [r.popen.pid for r in platform.running]
        pids += [int(line.split()[1]) for r in platform.running for line in r.pump.last
                 if line.startswith("grandchild ")]
        env = json.loads(dump.read_text())

        async def whoami() -> tuple[str, str]:
            conn = await asyncpg.connect(env["ONE_DATABASE_URL"])
            try:
                return await conn.fetchval("SELECT current_user"), await conn.fetchval(
                    "SELECT current_schema()")
            finally:
                await conn.close()

        assert run_sync(whoami()) == (f"{platform_args['role_prefix']}one", "one")
        assert env["ONE_DB_SCHEMA"] == "one" and env["ONE_ENVIRONMENT"] == "dev"
        assert env["ONE_NATS_URL"] == platform_args["nats_url"]
        assert env["ONE_REDIS_PREFIX"] == platform_args["redis_prefix"] + "one:"
        assert env["ONE_CLOCK_URL"] == manifest.clock_url
        assert "BEGIN PRIVATE KEY" in Path(env["ONE_KEY"]).read_text()
        assert oct(Path(env["ONE_KEY"]).stat().st_mode & 0o777) == "0o600"
    assert len(pids) == 4
    assert wait_all_gone(pids) == []
    text = out.getvalue()
    assert "one        | fake is serving" in text and "stopping two" in text
    assert text.index("stopping two") < text.index("stopping one")


def test_a_dying_process_is_reported_with_its_last_lines(platform_args):
    manifest = parse_manifest({"process": [fake("one")]})
    out = io.StringIO()
    with Platform(manifest, console=Console(out), **platform_args) as platform:
        http_status(f"http://127.0.0.1:{platform.running[0].ops_port}/die")
        assert platform.wait() == 1
    assert "one exited with code 3 unexpectedly" in out.getvalue()
    assert "    dying now" in out.getvalue()


def test_a_process_that_dies_while_starting_fails_the_start(platform_args):
    manifest = parse_manifest({"process": [fake("one", args=["nope"])]})
    out = io.StringIO()
    platform = Platform(manifest, console=Console(out), **platform_args)
    with pytest.raises(PlatformError, match="one exited with code 1 while starting"), platform:
        pass
    assert "KeyError" in out.getvalue()


def test_missing_modules_are_skipped_and_busy_ports_refused(platform_args):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        manifest = parse_manifest({"process": [
            {"name": "later", "module": "not_written_yet_xyz"}, fake("one", ports=[port])]})
        out = io.StringIO()
        with pytest.raises(PlatformError, match=f"port {port} .*already in use"):
            Platform(manifest, console=Console(out), **platform_args).start()
    assert "skipping later: python module 'not_written_yet_xyz' is not installed" in out.getvalue()


def test_ops_ports_follow_the_manifest_order():
    m = parse_manifest({"platform": {"ops_port_base": 9500}, "process": [
        {"name": "a", "module": "a"}, {"name": "b", "module": "b", "ops_port": 9999},
        {"name": "c", "module": "c"}]})
    assert [m.ops_port(p) for p in m.processes] == [9500, 9999, 9502]
    assert m.processes[0] == Process(name="a", module="a", env_prefix="A_")

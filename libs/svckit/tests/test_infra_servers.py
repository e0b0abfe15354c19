"""Embedded servers start from the wheels, keep their data across restarts, and stop cleanly."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import asyncpg
import nats
from svckit.infra import (
    RunAs,
    binaries,
    create_service_role,
    free_port,
    nats_reachable,
    postgres_reachable,
    reachable,
    redis_reachable,
    remove_cluster,
    run_sync,
    spawn,
    start_nats,
    start_postgres,
    start_redis,
    stop_process,
)
from svckit.infra.binaries import can_enter
from svckit.testing.natsclean import delete_streams_except, stream_names


def gone(pid: int) -> bool:
    """Tell whether a pid no longer names a live process (absent or a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_free_ports_are_distinct_and_outside_the_kernels_outgoing_range():
    """An outgoing connection takes its local port from the ephemeral range: a port chosen
    there could be taken before the server meant to listen on it binds it."""
    from svckit.infra.probe import _ephemeral_low

    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(p < _ephemeral_low() for p in ports)
    with socket.socket() as s:  # and each is free to bind
        s.bind(("127.0.0.1", ports[-1]))


def test_probes_tell_servers_apart(tmp_path):
    port = free_port()
    assert not reachable(f"nats://127.0.0.1:{port}", timeout=0.3)
    with start_redis(tmp_path / "r") as r, socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert redis_reachable(r.url)
        assert not nats_reachable(r.url.replace("redis", "nats"), timeout=0.3)
        assert not nats_reachable(f"nats://127.0.0.1:{other.getsockname()[1]}", timeout=0.3)
    assert not redis_reachable(r.url, timeout=0.3)


def test_postgres_keeps_data_across_restarts_and_never_runs_as_root():
    base = Path(tempfile.mkdtemp(prefix="svckit-pg-"))
    with start_postgres(base, durable=False) as pg:
        status = Path(f"/proc/{pg.pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        assert uid != 0
        dsn = run_sync(create_service_role(pg.url, "postgres", "keep"))

        async def write() -> None:
            conn = await asyncpg.connect(dsn)
            await conn.execute("CREATE TABLE t AS SELECT 42 AS v")
            await conn.close()

        run_sync(write())
        first_url = pg.url
    assert not postgres_reachable(first_url, timeout=0.3)
    with start_postgres(base, port=pg.port, durable=False) as again:
        assert again.url == first_url  # same generated superuser password

        async def read() -> int:
            conn = await asyncpg.connect(dsn)
            try:
                return int(await conn.fetchval("SELECT v FROM t"))
            finally:
                await conn.close()

        assert run_sync(read()) == 42
    shutil.rmtree(base, ignore_errors=True)


def test_a_removed_cluster_leaves_nothing_behind_when_its_data_was_relocated():
    # a benchmark's layout: the cluster in a folder of a private (mode 700) temp dir, which
    # the account postgres runs as cannot enter, so its data lives in RELOCATED_DIR
    parent = Path(tempfile.mkdtemp(prefix="svckit-pg-"))
    base = parent / "pg"
    try:
        with start_postgres(base, durable=False) as pg:
            assert postgres_reachable(pg.url)
        data = (base / "data").resolve()
        assert data.joinpath("PG_VERSION").exists()
        remove_cluster(base)
        assert not base.exists()
        assert not data.exists()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_stopping_a_process_stops_its_grandchildren_too():
    proc = spawn(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(proc.stdout.readline())
    assert stop_process(proc, grace=5) != 0
    assert wait_gone(grandchild)
    proc.stdout.close()


def test_children_die_when_the_launcher_is_killed(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from svckit.infra import spawn
        child = spawn(["sleep", "60"])
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    launcher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    assert not gone(child)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    launcher.stdout.close()
    assert wait_gone(child)


async def test_shared_nats_cleanup_deletes_only_new_streams(tmp_path):
    with start_nats(tmp_path / "n") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="KEEP", subjects=["keep.>"])
        before = await stream_names(server.url)
        await js.add_stream(name="NEW", subjects=["new.>"])
        await delete_streams_except(server.url, before)
        assert {s.config.name for s in await js.streams_info()} == {"KEEP"}
        await nc.close()


def test_nats_data_survives_a_restart(tmp_path):
    async def publish(url: str) -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name="S", subjects=["s.>"])
        await js.publish("s.x", b"kept")
        await nc.close()

    async def count(url: str) -> int:
        nc = await nats.connect(url)
        info = await nc.jetstream().stream_info("S")
        await nc.close()
        return int(info.state.messages)

    with start_nats(tmp_path / "n") as first:
        run_sync(publish(first.url))
        port = first.port
    with start_nats(tmp_path / "n", port=port) as second:
        assert run_sync(count(second.url)) == 1


def test_can_enter_follows_the_permission_bits_of_every_parent():
    nobody = RunAs("nobody", 65534, 65534)
    base = Path(tempfile.mkdtemp(prefix="svckit-perm-"))
    try:
        base.chmod(0o755)
        (base / "a" / "b").mkdir(parents=True)
        (base / "a").chmod(0o700)
        assert not can_enter(base / "a" / "b", nobody)
        (base / "a").chmod(0o711)
        assert can_enter(base / "a" / "b", nobody)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_binaries_are_copied_where_the_account_can_reach_them(tmp_path, monkeypatch):
    monkeypatch.setattr(binaries, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(binaries, "can_enter", lambda path, user: False)
    bin_dir = binaries.postgres_bin_dir(RunAs("nobody", 65534, 65534))
    assert bin_dir.parent.parent == tmp_path / "cache"
    assert (bin_dir / "postgres").is_file() and (bin_dir.parent / "lib").is_dir()
    assert binaries.postgres_bin_dir(RunAs("nobody", 65534, 65534)) == bin_dir


def test_nats_starts_again_when_a_chosen_port_was_taken_meanwhile(tmp_path, monkeypatch):
    import socket

    from svckit.infra import nats as embedded
    from svckit.infra.probe import free_port

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    # the monitor port chosen first is already bound by someone else (the race free_port has)
    ports = iter([free_port(), busy.getsockname()[1]])
    monkeypatch.setattr(embedded, "free_port", lambda: next(ports, None) or free_port())
    server = embedded.start_nats(tmp_path / "nats")
    try:
        assert server.alive()
    finally:
        server.stop()
        busy.close()


def test_redis_starts_again_when_a_chosen_port_was_taken_meanwhile(tmp_path, monkeypatch):
    import socket

    from svckit.infra import redis as embedded
    from svckit.infra.probe import free_port, redis_ping

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    # the port chosen first is already bound by someone else (the race free_port has)
    ports = iter([busy.getsockname()[1]])
    monkeypatch.setattr(embedded, "free_port", lambda: next(ports, None) or free_port())
    server = embedded.start_redis(tmp_path / "redis")
    try:
        assert server.port != busy.getsockname()[1] and redis_ping(server.url) == "+PONG"
    finally:
        server.stop()
        busy.close()

"""`python -m svckit.devrun run|status|stop`, the lock, provisioning and secrets."""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from svckit.devrun import Console
from svckit.devrun.lock import RunLock
from svckit.devrun.provision import ProvisionError, provision
from svckit.devrun.secrets import SecretStore
from svckit.infra import (
    drop_database,
    drop_role,
    free_port,
    http_status,
    remove_cluster,
    run_sync,
)


def devrun(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "svckit.devrun", *args, "--root", str(root)],
                          capture_output=True, text=True, timeout=100, env=env, check=False)


def lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            q.put(line)
        q.put("")

    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_line(q: queue.Queue[str], needle: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = q.get(timeout=max(0.01, deadline - time.monotonic()))
        seen.append(line)
        if needle in line:
            return seen
        if line == "":
            break
    raise AssertionError(f"{needle!r} never printed:\n{''.join(seen)}")


def test_a_second_launcher_on_the_same_run_dir_refuses_clearly(tmp_path):
    (tmp_path / "platform.toml").write_text('[platform]\nurl = "http://127.0.0.1:8123"\n')
    lock = RunLock(tmp_path / ".run")
    assert lock.acquire()
    lock.write_state(pid=os.getpid(), url="http://127.0.0.1:8123")
    try:
        second = devrun(tmp_path, "run")
        assert second.returncode == 1
        assert (f"the platform is already running (pid {os.getpid()}, http://127.0.0.1:8123)"
                in second.stderr)
        assert devrun(tmp_path, "status").returncode == 0
    finally:
        lock.release()
    assert "not running" in devrun(tmp_path, "status").stdout


def test_run_status_and_stop_from_the_command_line(tmp_path, nats_url, pg_admin_dsn, redis_url):
    name, ops = f"svc{secrets.token_hex(3)}", free_port()
    (tmp_path / "platform.toml").write_text(
        f'[platform]\ndatabase = "t_{name}"\nurl = "http://127.0.0.1:{ops}"\n'
        f'[[process]]\nname = "{name}"\nmodule = "svckit.testing.fakesvc"\nargs = ["X_"]\nenv_prefix = "X_"\n'
        f'schema = true\nops_port = {ops}\n')
    env = {**os.environ, "PLATFORM_NATS_URL": nats_url,
           "PLATFORM_DATABASE_URL": pg_admin_dsn, "PLATFORM_REDIS_URL": redis_url}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "svckit.devrun", "run", "--root", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        out = wait_line(lines_of(launcher), "the platform is up")
        assert any(f"{name} is ready" in line for line in out)
        assert http_status(f"http://127.0.0.1:{ops}/readyz") == 200
        status = devrun(tmp_path, "status", env=env)
        assert status.returncode == 0 and f"pid {launcher.pid}" in status.stdout
        child = json.loads((tmp_path / ".run" / "devrun.json").read_text())["processes"][0]["pid"]
        assert "has stopped" in devrun(tmp_path, "stop", env=env).stdout
        assert launcher.wait(timeout=30) == 0
        assert not Path(f"/proc/{child}").exists()
        assert (tmp_path / ".run" / "secrets" / f"{name}.env").stat().st_mode & 0o777 == 0o600
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        launcher.stdout.close()
        run_sync(drop_database(pg_admin_dsn, f"t_{name}"))
        run_sync(drop_role(pg_admin_dsn, name))


def test_embedded_servers_start_when_nothing_answers_and_keep_their_ports(tmp_path, nats_url):
    # a NATS answering on the default port is not reused: the platform starts its own,
    # with its per-service users
    defaults = {"nats": nats_url,
                "postgres": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
                "redis": f"redis://127.0.0.1:{free_port()}/0"}
    wanted = {k: free_port() for k in ("nats", "postgres", "redis")}
    out = io.StringIO()
    # Outside pytest's mode-700 tmp dir: as root, Postgres runs as another user.
    run_dir = Path(tempfile.mkdtemp(prefix="svckit-run-"))
    try:
        with ExitStack() as stack:
            first = provision(run_dir, {}, Console(out), stack, defaults=defaults,
                              embedded_ports=wanted, durable=False)
            assert [s.kind for s in first.started] == ["nats", "postgres", "redis"]
            assert [s.port for s in first.started] == list(wanted.values())
            users = first.nats_users
            assert users is not None and users.conf.is_file()
            assert run_sync(_nats_login(first.nats_url)) == "Authorization Violation"
            assert run_sync(_nats_login(first.nats_url, "gateway", users.password("gateway"))) == "ok"
            assert run_sync(_nats_login(first.nats_url, "gateway", "guess")) == "Authorization Violation"
        with ExitStack() as stack:
            again = provision(run_dir, {}, Console(out), stack, defaults=defaults,
                              embedded_ports={k: free_port() for k in wanted}, durable=False)
            assert again.admin_dsn == first.admin_dsn and again.nats_url == first.nats_url
            # the passwords survive a restart: a service started before keeps its login
            assert run_sync(_nats_login(again.nats_url, "gateway", users.password("gateway"))) == "ok"
            assert (users.password_file("gateway").stat().st_mode & 0o777) == 0o600
    finally:
        remove_cluster(run_dir / "postgres")  # its data was relocated: run_dir is mode 700
        shutil.rmtree(run_dir, ignore_errors=True)
    assert "starting an embedded one" in out.getvalue()


async def _nats_login(url: str, user: str | None = None, password: str | None = None) -> str:
    """Connect once; return "ok" or the server's refusal."""
    import nats
    from nats.errors import NoServersError

    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    try:
        nc = await nats.connect(url, user=user, password=password, connect_timeout=2,
                                max_reconnect_attempts=0, allow_reconnect=False,
                                error_cb=on_error)
    except (NoServersError, OSError, nats.errors.Error) as exc:
        text = " ".join([*errors, str(exc)])
        return "Authorization Violation" if "authorization violation" in text.lower() else text
    await nc.close()
    return "ok"


def test_configured_servers_are_used_as_they_are(tmp_path, nats_url, pg_admin_dsn, redis_url):
    out = io.StringIO()
    env = {"PLATFORM_NATS_URL": nats_url, "PLATFORM_DATABASE_URL": pg_admin_dsn,
           "PLATFORM_REDIS_URL": redis_url}
    with ExitStack() as stack:
        found = provision(tmp_path, env, Console(out), stack)
        assert found.nats_url == nats_url and found.nats_users is None
        assert [s.kind for s in found.started] == []
    assert "nats: using" in out.getvalue()


def test_a_configured_but_unusable_server_is_an_error(tmp_path):
    env = {"PLATFORM_NATS_URL": f"nats://127.0.0.1:{free_port()}"}
    with ExitStack() as stack, pytest.raises(ProvisionError, match="PLATFORM_NATS_URL=.* no NATS"):
        provision(tmp_path, env, Console(io.StringIO()), stack)


def test_secrets_are_generated_once_with_mode_600(tmp_path):
    store = SecretStore(tmp_path / "secrets")
    pem = store.file("jwt_signing_key")
    assert store.file("jwt_signing_key").read_text() == pem.read_text()
    assert pem.stat().st_mode & 0o777 == 0o600
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert type(key).__name__ == "Ed25519PrivateKey"
    kid, b64 = store.value("credential_keys").split(":")
    assert kid == "k1" and len(base64.b64decode(b64)) == 32
    assert store.db_password("auth") == store.db_password("auth")
    assert store.expand("{secret:credential_keys}|{root}", root=Path("/r"), run_dir=tmp_path) == \
        f"k1:{b64}|/r"

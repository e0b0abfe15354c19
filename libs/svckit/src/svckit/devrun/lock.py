"""One launcher per run directory: an flock'ed lock file plus a small state file.

The kernel drops an flock when its holder dies, however it dies, so a crashed launcher never
leaves a lock that blocks the next `make run` (unlike a pid file, whose pid may be reused).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any


class RunLock:
    """The lock and state files of a run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "devrun.lock"
        self.state_path = run_dir / "devrun.json"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; return False when another launcher holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held_elsewhere(self) -> bool:
        """Tell whether some launcher holds the lock right now."""
        if self._fd is not None:
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def write_state(self, **state: Any) -> None:
        """Record what this launcher runs (read by status, stop and a second launcher)."""
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    def read_state(self) -> dict[str, Any]:
        """Return the recorded state, or {} when there is none."""
        try:
            return dict(json.loads(self.state_path.read_text()))
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        """Forget the state and drop the lock."""
        if self._fd is None:
            return
        self.state_path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

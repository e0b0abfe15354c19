"""Children's output, one line at a time, prefixed with the process name."""

from __future__ import annotations

import threading
from collections import deque
from typing import IO

_COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")


class Console:
    """Serialises lines from many threads onto one stream, colouring names on a TTY."""

    def __init__(self, out: IO[str], color: bool | None = None, width: int = 10) -> None:
        self.out = out
        self.color = out.isatty() if color is None else color
        self.width = width
        self._lock = threading.Lock()
        self._palette: dict[str, str] = {}

    def line(self, name: str, text: str) -> None:
        """Print one line under `name`."""
        label = name.ljust(self.width)
        if self.color:
            code = self._palette.setdefault(name, _COLORS[len(self._palette) % len(_COLORS)])
            label = f"\033[{code}m{label}\033[0m"
        with self._lock:
            try:
                self.out.write(f"{label} | {text}\n")
                self.out.flush()
            except (OSError, ValueError):
                pass  # our own output is gone (closed pipe); the children must keep running

    def say(self, text: str) -> None:
        """Print a line from the launcher itself."""
        self.line("platform", text)


class Pump:
    """A thread copying one child's output to the console and keeping its last lines."""

    def __init__(self, name: str, stream: IO[bytes], console: Console, on_eof: threading.Event,
                 keep: int = 40) -> None:
        self.name = name
        self.last: deque[str] = deque(maxlen=keep)
        self._stream = stream
        self._console = console
        self._on_eof = on_eof
        self._thread = threading.Thread(target=self._run, name=f"pump-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                text = raw.decode(errors="replace").rstrip("\r\n")
                self.last.append(text)
                self._console.line(self.name, text)
        except (OSError, ValueError):
            pass  # the stream was closed under us while stopping
        finally:
            self._on_eof.set()

    def alive(self) -> bool:
        """Tell whether the pump is still copying (its stream has not ended)."""
        return self._thread.is_alive()

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the remaining output to be copied."""
        self._thread.join(timeout)

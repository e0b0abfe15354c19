"""The platform's NATS users for a server the launcher starts itself (ARCHITECTURE.md §5).

`make run` and the end-to-end tests start nats-server with the users generated from the
contracts (`contracts.natsperms`): one per service, limited to its own subjects, plus an
unrestricted `admin` for the auth sidecar. Each service connects as itself with its password
file (`<PREFIX>NATS_USER`, `<PREFIX>NATS_PASSWORD_FILE`); the sidecar (`svckit.natsauth`)
adds the users' event credentials and reloads the server, as it does in Kubernetes.

Layout under `directory` (mode 700, files mode 600; passwords are kept across runs):

    passwords/<service>, passwords/admin   one password per NATS user
    nats.conf                              the server's config: pid file + include auth.conf
    auth.conf                              the rendered `authorization` block
    nats.pid                               written by nats-server; the sidecar signals it
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from contracts import natsperms as P

from svckit.devrun.manifest import Process
from svckit.devrun.secrets import write_once
from svckit.infra.nats import start_nats
from svckit.infra.server import EmbeddedServer

ADMIN = "admin"


@dataclass(frozen=True)
class NatsUsers:
    """Where a secured server's configuration and passwords are."""

    directory: Path

    @property
    def passwords_dir(self) -> Path:
        """The folder of one password file per user, named after it."""
        return self.directory / "passwords"

    @property
    def conf(self) -> Path:
        """The nats-server configuration file to start the server with."""
        return self.directory / "nats.conf"

    @property
    def auth_conf(self) -> Path:
        """The `authorization` block that nats.conf includes and the sidecar rewrites."""
        return self.directory / "auth.conf"

    @property
    def pid_file(self) -> Path:
        """Where nats-server writes its pid (the sidecar sends SIGHUP there)."""
        return self.directory / "nats.pid"

    def password_file(self, user: str) -> Path:
        """Return the password file of a service (or of `admin`)."""
        return self.passwords_dir / user

    def password(self, user: str) -> str:
        """Return the password of a service (or of `admin`)."""
        return self.password_file(user).read_text().strip()

    def env_for(self, service: str, env_prefix: str) -> dict[str, str]:
        """Return the variables a platform process connects with; none for a non-service."""
        if service not in P.SERVICES:
            return {}
        return {f"{env_prefix}NATS_USER": service,
                f"{env_prefix}NATS_PASSWORD_FILE": str(self.password_file(service))}

    def sidecar(self, nats_url: str, interval_s: float = 60.0) -> Process:
        """Return the auth sidecar as a platform process (it needs `auth` running)."""
        return Process(
            name="natsauth", module="svckit.natsauth", env_prefix="NATSAUTH_", ops_port=0,
            ready="none",
            args=("--nats-url", nats_url, "--admin-password-file", str(self.password_file(ADMIN)),
                  "--passwords-dir", str(self.passwords_dir), "--out", str(self.auth_conf),
                  "--pid-file", str(self.pid_file), "--interval", str(interval_s)))


def prepare(directory: Path) -> NatsUsers:
    """Create the passwords (once) and write the server's configuration with no grants yet.

    The sidecar adds the live event credentials within a second of auth being up.
    """
    users = NatsUsers(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    passwords = {name: write_once(users.password_file(name), lambda: secrets.token_urlsafe(24))
                 .strip() for name in (*P.SERVICES, ADMIN)}
    admin = passwords.pop(ADMIN)
    _write_private(users.auth_conf, P.render_config(P.NatsAuthConfig(passwords, [], admin)))
    _write_private(users.conf, f'pid_file: "{users.pid_file}"\ninclude ./auth.conf\n')
    return users


def start_secured_nats(data_dir: Path, users_dir: Path, *, port: int | None = None
                       ) -> tuple[EmbeddedServer, NatsUsers]:
    """Start nats-server (JetStream data in `data_dir`) with the platform's users."""
    users = prepare(users_dir)
    return start_nats(data_dir, port=port, config=users.conf), users


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)

"""Secrets `make run` generates once and keeps under .run/secrets (files of mode 600)."""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

# PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed DER header + 32 bytes.
_ED25519_PKCS8_HEADER = bytes.fromhex("302e020100300506032b657004220420")


def ed25519_private_pem() -> str:
    """Return a new Ed25519 private key as PKCS#8 PEM."""
    der = _ED25519_PKCS8_HEADER + secrets.token_bytes(32)
    return f"-----BEGIN PRIVATE KEY-----\n{base64.b64encode(der).decode()}\n-----END PRIVATE KEY-----\n"


def credential_keys() -> str:
    """Return a key ring with one AES-256 key: `k1:<base64 of 32 bytes>`."""
    return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()


GENERATORS: dict[str, Callable[[], str]] = {
    "jwt_signing_key": ed25519_private_pem,
    "credential_keys": credential_keys,
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z0-9_]+))?\}")


def write_once(path: Path, make: Callable[[], str]) -> str:
    """Return the file's content, creating it (mode 600) from `make()` if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "w") as f:
        f.write(make())
    return path.read_text()


class SecretStore:
    """The .run/secrets folder."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def file(self, name: str) -> Path:
        """Return the path of platform secret `name`, generating it on first use."""
        if name not in GENERATORS:
            raise KeyError(f"unknown platform secret {name!r}; known: {sorted(GENERATORS)}")
        path = self.dir / name
        write_once(path, GENERATORS[name])
        return path

    def value(self, name: str) -> str:
        """Return the content of platform secret `name`."""
        return self.file(name).read_text().strip()

    def db_password(self, service: str) -> str:
        """Return the database password of a service's role (kept in `<service>.env`)."""
        text = write_once(self.dir / f"{service}.env",
                          lambda: f"DB_PASSWORD={secrets.token_hex(24)}\n")
        for line in text.splitlines():
            if line.startswith("DB_PASSWORD="):
                return line.split("=", 1)[1].strip()
        raise ValueError(f"{self.dir / service}.env has no DB_PASSWORD line")

    def expand(self, value: str, **plain: str | Path) -> str:
        """Replace {secret_file:x} and {secret:x}, and {name} for each keyword given."""
        def sub(m: re.Match[str]) -> str:
            kind, arg = m.group(1), m.group(2)
            if kind == "secret_file" and arg:
                return str(self.file(arg))
            if kind == "secret" and arg:
                return self.value(arg)
            if kind in plain and not arg:
                return str(plain[kind])
            raise KeyError(f"unknown placeholder {m.group(0)} in {value!r}")

        return _PLACEHOLDER.sub(sub, value)

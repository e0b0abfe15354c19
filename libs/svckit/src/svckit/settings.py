"""Settings base: one pydantic-settings class per service, with an env prefix.

Required values have no default; placeholder secrets are refused outside dev; any field can
be read from a file (`<PREFIX><FIELD>_FILE=/run/secrets/...`), and `secrets_dir` reads
Docker/Kubernetes-style secret files. The object is passed down, never a global.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "dev", "test", "example"}


class ServiceSettings(BaseSettings):
    """Settings every service shares; subclasses set `env_prefix` and add their own."""

    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    service_name: str = "service"
    environment: Literal["dev", "test", "prod"] = "dev"
    instance_id: str = f"{socket.gethostname()}-{os.getpid()}"

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds_file: Path | None = None

    database_url: SecretStr | None = None
    db_schema: str | None = None
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_light_reset: bool = False
    """Return a connection to the pool without asyncpg's reset round trip (`RESET ALL`,
    `UNLISTEN *`, `CLOSE ALL`, advisory unlock); an open transaction is still rolled back.
    Only for a service that keeps no session state on pooled connections (no `SET`, session
    advisory locks, cursors outside a transaction, or `LISTEN` it does not remove itself)."""
    migrate_on_start: bool = True

    stream_replicas: int | None = None
    """JetStream replicas of the streams this service declares (3 on a production NATS
    cluster); unset keeps each StreamSpec's own (1)."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = ""
    redis_pool_max: int = 64

    ops_host: str = "127.0.0.1"
    ops_port: int = 0

    log_level: str = "INFO"
    log_json: bool | None = None

    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    """uvloop (libuv) runs the same asyncio code with cheaper sockets and timers; `asyncio`
    falls back to the standard loop (also used when uvloop is not installed)."""

    clock_url: str | None = None
    otlp_endpoint: str | None = None

    request_concurrency: int = 256

    @model_validator(mode="before")
    @classmethod
    def _read_file_values(cls, data: Any) -> Any:
        """Fill `x` from the file named by env `<PREFIX>X_FILE` when `x` is not given."""
        if not isinstance(data, dict):
            return data
        prefix = (cls.model_config.get("env_prefix") or "").upper()
        for name in cls.model_fields:
            path = os.environ.get(f"{prefix}{name.upper()}_FILE")
            if path and data.get(name) in (None, ""):
                data[name] = Path(path).read_text().strip()
        return data

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "dev":
            return self
        for name, value in self:
            if isinstance(value, SecretStr) and value.get_secret_value().lower() in PLACEHOLDERS:
                raise ValueError(f"{name} holds a placeholder secret; set a real one")
        return self

    def dsn(self) -> str:
        """Return the database DSN, refusing to start without one."""
        if self.database_url is None:
            raise ValueError("database_url is required for this service")
        return self.database_url.get_secret_value()

    def schema(self) -> str:
        """Return the Postgres schema this service owns."""
        return self.db_schema or self.service_name

    def key(self, *parts: str) -> str:
        """Build a Redis key under this deployment's prefix."""
        return self.redis_prefix + ":".join(parts)

"""Auth settings (env prefix `AUTH_`); any field can also come from `AUTH_<FIELD>_FILE`."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


class AuthSettings(ServiceSettings):
    """Everything the auth service can be told; security lifetimes are in wall-clock seconds."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "auth"
    app_base_url: str = "http://127.0.0.1:8080"
    event_nats_url: str | None = None
    """The NATS URL third parties connect to with event credentials (told in the reply
    that creates one); unset: this service's own `nats_url`."""

    # token lifetimes
    access_token_ttl_s: int = 15 * MINUTE
    refresh_token_ttl_s: int = 30 * DAY
    challenge_ttl_s: int = 5 * MINUTE
    challenge_max_attempts: int = 5
    email_verify_ttl_s: int = 2 * DAY
    password_reset_ttl_s: int = 30 * MINUTE

    # argon2id cost (OWASP's baseline: 19 MiB, 2 passes, 1 lane, ~15-25 ms on one core)
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1

    # signing keys: one PEM file and/or a directory of PEMs; kid = RFC 7638 thumbprint
    jwt_private_key_file: Path | None = None
    jwt_keys_dir: Path | None = None
    jwt_active_kid: str | None = None

    # AES-256-GCM key (base64, 32 bytes) for TOTP secrets; required in prod
    data_key: SecretStr | None = None
    # where dev/test generate a signing key and a data key when none is configured
    dev_secrets_dir: Path = Path(".run/auth")

    # the first admin (password via AUTH_ADMIN_PASSWORD_FILE)
    admin_email: str | None = None
    admin_name: str = "Administrator"
    admin_password: SecretStr | None = None

    # failed-login throttling (fixed windows, Redis counters)
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_s: int = 15 * MINUTE

    # the forgot-password reply takes at least this long whether or not the address exists
    forgot_password_min_reply_s: float = 0.25

    totp_issuer: str = "AlgoTrade"
    api_keys_max_per_user: int = 25
    # write verification/reset links to the log (until notify delivers mail); None = not in prod
    log_mail_links: bool | None = None
    audit_consumer: bool = True

    @model_validator(mode="after")
    def _prod_needs_real_keys(self) -> AuthSettings:
        if self.environment == "prod":
            if self.data_key is None:
                raise ValueError("AUTH_DATA_KEY is required in prod")
            if self.jwt_private_key_file is None and self.jwt_keys_dir is None:
                raise ValueError("AUTH_JWT_PRIVATE_KEY_FILE or AUTH_JWT_KEYS_DIR is required in prod")
        if self.admin_email and self.admin_password is None:
            raise ValueError("AUTH_ADMIN_EMAIL needs AUTH_ADMIN_PASSWORD_FILE (no default password)")
        return self

    def mail_links_logged(self) -> bool:
        """Return whether verification/reset links go to the log."""
        return self.log_mail_links if self.log_mail_links is not None else self.environment != "prod"

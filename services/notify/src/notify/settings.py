"""Notify service settings (env prefix NOTIFY_)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Everything the notify service needs."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "notify"

    app_base_url: str = "http://127.0.0.1:8080"
    """Where the SPA lives; in-app links (`/orders/<id>`) become absolute in mails and webhooks."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    """The local mail sink (`python -m notify.mailsink`) listens here by default."""
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """`starttls` upgrades a plain connection; `tls` is implicit TLS (port 465)."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 10.0
    mail_from: str = "AlgoTrade <notifications@localhost>"

    sms_url: str | None = None
    """The generic HTTP SMS provider; SMS is off when unset."""
    sms_auth_header: SecretStr | None = None
    """The whole `Authorization` header value the provider wants (e.g. `Bearer ...`)."""
    sms_body_template: str = '{"to": "$to", "message": "$message"}'
    """string.Template body; `$to` and `$message` are JSON-escaped when the body is JSON."""
    sms_content_type: str = "application/json"

    webhook_allow_private: bool = False
    """Allow webhooks to private/loopback addresses (local development and tests only)."""
    webhook_timeout_s: float = 10.0

    group_window_s: float = 60.0
    """Repeats of the same type and key within this window update one notification."""
    max_attempts: int = 12
    """Deliveries that fail this many times become dead letters (about 35 minutes by default)."""
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    delivery_poll_s: float = 1.0
    delivery_batch: int = 50
    delivery_lease_s: float = 60.0
    """A claimed delivery whose sender died is retried after this long."""
    profile_timeout_s: float = 3.0
    max_event_age_s: float = 86400.0
    """Events older than this make no notification (a first start must not mail a month of
    history); 0 turns the bound off. Contacts are learned from events of any age."""
    event_max_deliver: int = 1000
    """Deliveries of one user event before JetStream gives up (backoff reaches 30 s: ~8 h)."""

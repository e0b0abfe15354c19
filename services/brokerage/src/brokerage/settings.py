"""Brokerage settings (env prefix BROKERAGE_)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings


class BrokerageSettings(ServiceSettings):
    """Everything the brokerage service needs; `credential_keys` has no default on purpose."""

    model_config = SettingsConfigDict(env_prefix="BROKERAGE_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "brokerage"
    credential_keys: SecretStr
    """`kid:base64key,kid2:base64key` (32-byte AES keys); the first one encrypts."""

    dhan_api_base: str = "https://api.dhan.co/v2"
    dhan_auth_base: str = "https://auth.dhan.co"
    dhan_order_ws_url: str = "wss://api-order-update.dhan.co"
    dhan_timeout_s: float = 10.0
    consent_redirect_url: str = ""

    pacing_enabled: bool = True
    order_rate_per_s: int = 10
    order_rate_per_min: int = 250
    data_rate_per_s: int = 20
    retry_attempts: int = 4
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 3.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 15.0

    stale_intent_s: float = 30.0
    """An intent older than this (business time) is refused, never sent late."""
    settle_s: float = 20.0
    """After a send with no answer, how long before 'not found by correlation id' is trusted."""
    reconcile_interval_s: float = 5.0
    order_stream: bool = True
    intent_batch: int = 10
    intent_concurrency: int = 4
    """Intents of different accounts sent at once. Each send holds a pooled connection (its
    advisory lock) and takes a second one, so this stays under half of `db_pool_max`."""
    intent_ack_wait_s: float = 60.0

    paper_default_capital: Decimal = Decimal(1000000)

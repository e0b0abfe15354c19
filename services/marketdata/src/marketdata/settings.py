"""Settings of the marketdata service (env prefix `MARKETDATA_`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything marketdata reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="MARKETDATA_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "marketdata"

    # The platform's own Dhan data credentials (not a user's account).
    dhan_client_id: str | None = None
    dhan_access_token: SecretStr | None = None
    dhan_api_base: str = "https://api.dhan.co/v2"
    dhan_feed_url: str = "wss://api-feed.dhan.co"
    # With no token and a simulator API base, create a data client via POST /sim/clients.
    dhan_sim_autoclient: bool = True
    scrip_master_url: str | None = "https://images.dhan.co/api-data/api-scrip-master.csv"
    scrip_master_refresh_s: float = 24 * 3600

    feed_enabled: bool = True
    feed_mode: Literal["ticker", "quote", "full"] = "full"
    feed_max_connections: int = 5
    feed_per_connection: int = 5000
    feed_per_message: int = 100
    # "NSE_EQ:2885" entries kept on the feed without a lease.
    always_subscribe: list[str] = Field(default_factory=list)

    bar_grace_s: float = 2.0
    quote_ttl_s: int = 30
    quote_flush_s: float = 0.25
    quote_rate_per_s: float = 1.0
    data_rate_per_s: float = 5.0

    watchdog_interval_s: float = 1.0
    stale_after_s: float = 60.0  # business seconds without a feed tick in market hours
    watchdog_step_s: float = 30.0  # business seconds between escalation steps

    lease_sweep_s: float = 1.0
    history_bucket_ttl_s: float = 24 * 3600

"""Gateway settings (env prefix `GATEWAY_`)."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings

# <repo>/services/gateway/src/gateway/settings.py -> <repo>/web/dist
_DEFAULT_WEB_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"


class GatewaySettings(ServiceSettings):
    """Everything the HTTP/WebSocket edge needs to know."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "gateway"

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Uvicorn gets this many seconds to finish in-flight requests after SIGTERM.
    http_drain_s: float = 10.0

    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 1024 * 1024
    # None means "Secure outside dev": a dev server on plain http must still get its cookie.
    cookie_secure: bool | None = None
    refresh_cookie_name: str = "at_refresh"

    # Per-IP limit on /api/auth/*, per-user limit elsewhere, each per fixed window.
    rate_window_s: int = 60
    rate_auth_ip: int = 30
    rate_user: int = 600
    # Peers allowed to set X-Forwarded-For (the ingress); everyone else is their own IP.
    trusted_proxies: list[str] = Field(default_factory=list)

    # Prefix under which auth writes revocation keys; defaults to redis_prefix. Set it when
    # the launcher gives each process its own prefix (auth's keys must be read where written).
    revocation_prefix: str | None = None

    nats_timeout_s: float = 5.0
    jwks_min_refetch_s: float = 10.0

    ws_auth_timeout_s: float = 5.0
    ws_queue_max: int = 10_000
    ws_revocation_check_s: float = 5.0
    ws_max_instruments: int = 200

    web_dist: Path = _DEFAULT_WEB_DIST

    def secure_cookie(self) -> bool:
        """Return whether cookies get the Secure flag."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment != "dev"

    def revocation_key_prefix(self) -> str:
        """Return the Redis prefix auth's revocation keys live under."""
        return self.redis_prefix if self.revocation_prefix is None else self.revocation_prefix

    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Return the trusted proxy networks (parsed once: this runs on every request)."""
        return _networks(tuple(self.trusted_proxies))

    def is_trusted_proxy(self, host: str | None) -> bool:
        """Return whether a peer address may set X-Forwarded-For."""
        if not host or not self.trusted_proxies:
            return False
        try:
            addr = ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.proxy_networks())


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(p, strict=False) for p in cidrs)

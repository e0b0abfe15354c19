"""What every request handler reaches: the wired gateway and the per-call facts."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from nats.aio.client import Client

from .audit import AuditPublisher
from .identity import Authenticator
from .market import MarketFanout
from .ratelimit import RateLimiter
from .settings import GatewaySettings


@dataclass
class Gateway:
    """The connections and helpers the HTTP and WebSocket handlers share."""

    settings: GatewaySettings
    nc: Client
    redis: aioredis.Redis
    auth: Authenticator
    limiter: RateLimiter
    audit: AuditPublisher
    market: MarketFanout | None = None


@dataclass
class CallInfo:
    """One HTTP call: identity of the request, and what the handler learnt for the audit."""

    request_id: str
    client_ip: str | None
    user_agent: str | None
    user_id: str | None = None
    route: str | None = None  # the route template, a bounded label for metrics
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None

"""Gateway test fixtures: a running gateway on real NATS and Redis, with a fake auth service.

nats_url, redis_url and redis_prefix come from svckit.testing.plugin (the root conftest).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as aioredis
from contracts import auth as A
from contracts.api import Empty, Ok, Page
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway.app import GatewayApp
from gateway.settings import GatewaySettings
from jwt.utils import base64url_encode
from svckit.context import RequestContext
from svckit.errors import Conflict, RateLimited, Unauthorized
from svckit.micro import MicroService
from svckit.nats import connect

NOW = datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
USER = A.User(id="u1", email="a@example.com", name="A", role=A.Role.USER,
              status=A.UserStatus.ACTIVE, email_verified=True, two_factor_enabled=False,
              created_at=NOW)


@dataclass
class FakeAuth:
    """Answers the auth subjects the gateway tests need, and signs tokens like auth does."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = "k1"
    refresh_tokens: set[str] = field(default_factory=set)
    seen: list[tuple[str, dict, RequestContext]] = field(default_factory=list)

    def jwks(self) -> A.JwkSet:
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
        return A.JwkSet(keys=[A.Jwk(x=base64url_encode(raw).decode(), kid=self.kid)])

    def token(self, *, sub: str = "u1", role: str = "user", sid: str = "s1", ev: bool = True,
              ttl: int = 900, iat: int | None = None, **over: Any) -> str:
        iat = int(time.time()) if iat is None else iat
        claims = {"iss": A.ACCESS_TOKEN_ISSUER, "aud": A.ACCESS_TOKEN_AUDIENCE, "sub": sub,
                  "sid": sid, "role": role, "ev": ev, "iat": iat, "exp": iat + ttl,
                  "jti": uuid.uuid4().hex}
        claims.update(over)
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def pair(self) -> dict:
        refresh = "r-" + uuid.uuid4().hex
        self.refresh_tokens.add(refresh)
        return A.TokenPair(access_token=self.token(), expires_in=900, refresh_token=refresh,
                           refresh_expires_in=3600, user=USER).model_dump(by_alias=True,
                                                                          mode="json")

    def register(self, micro: MicroService) -> None:
        def ep(subject: str, model: type, fn: Any) -> None:
            async def handler(body: Any, ctx: RequestContext) -> Any:
                self.seen.append((subject, body.model_dump(by_alias=True, exclude_unset=True),
                                  ctx))
                return await fn(body, ctx)
            micro.endpoint(subject, model, handler)

        async def jwks(_b: Any, _c: RequestContext) -> A.JwkSet:
            return self.jwks()

        async def profile(_b: Any, ctx: RequestContext) -> dict:
            return {"userId": ctx.user_id, "role": ctx.role, "sid": ctx.session_id,
                    "verified": ctx.email_verified, "requestId": ctx.request_id,
                    "ip": ctx.client_ip, "ua": ctx.user_agent,
                    "traceparent": ctx.headers.get("traceparent")}

        async def login(body: A.Login, _c: RequestContext) -> dict:
            if body.password != "right-pass-1":
                raise Unauthorized("Invalid e-mail or password")
            return {"twoFactorRequired": False, "tokens": self.pair()}

        async def refresh(body: A.Refresh, _c: RequestContext) -> dict:
            if body.refresh_token not in self.refresh_tokens:
                raise Unauthorized("Refresh token invalid")
            self.refresh_tokens.discard(body.refresh_token)
            return self.pair()

        async def logout(_b: A.Logout, _c: RequestContext) -> Ok:
            return Ok()

        async def register(_b: A.Register, _c: RequestContext) -> None:
            raise Conflict("E-mail already registered")

        async def forgot(_b: A.ForgotPassword, _c: RequestContext) -> None:
            raise RateLimited("Slow down", retry_after_s=7)

        async def update(body: A.UpdateProfile, _c: RequestContext) -> dict:
            return {"fieldsSet": sorted(body.model_fields_set)}

        async def users(body: A.AdminListUsers, _c: RequestContext) -> dict:
            return Page[A.User](items=[USER], total=1, page=body.page,
                                page_size=body.page_size).model_dump(by_alias=True, mode="json")

        async def set_status(body: A.AdminSetStatus, _c: RequestContext) -> dict:
            return USER.model_copy(update={"id": body.user_id, "status": body.status}).model_dump(
                by_alias=True, mode="json")

        async def never_answers(_b: Any, _c: RequestContext) -> None:
            await asyncio.sleep(3)

        async def verify_key(body: A.VerifyApiKey, _c: RequestContext) -> A.ApiKeyOwner:
            if body.api_key != "ak_valid_key_123":
                raise Unauthorized("Invalid API key")
            return A.ApiKeyOwner(user_id="u9", role=A.Role.USER, key_id="key1",
                                 email_verified=True)

        ep(A.JWKS, Empty, jwks)
        ep(A.GET_PROFILE, Empty, profile)
        ep(A.LOGIN, A.Login, login)
        ep(A.REFRESH, A.Refresh, refresh)
        ep(A.LOGOUT, A.Logout, logout)
        ep(A.REGISTER, A.Register, register)
        ep(A.FORGOT_PASSWORD, A.ForgotPassword, forgot)
        ep(A.UPDATE_PROFILE, A.UpdateProfile, update)
        ep(A.ADMIN_LIST_USERS, A.AdminListUsers, users)
        ep(A.ADMIN_SET_STATUS, A.AdminSetStatus, set_status)
        ep(A.VERIFY_API_KEY, A.VerifyApiKey, verify_key)
        ep(A.GET_PREFERENCES, Empty, never_answers)


@pytest.fixture
def fake() -> FakeAuth:
    return FakeAuth()


@dataclass
class RunningGateway:
    """A gateway serving on a loopback port, with its fake auth and a Redis client."""

    url: str
    app: GatewayApp
    auth: FakeAuth
    redis: aioredis.Redis
    prefix: str
    http: httpx.AsyncClient


@pytest.fixture
def gateway_settings(nats_url: str, redis_url: str, redis_prefix: str,
                     tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(
        nats_url=nats_url, redis_url=redis_url, redis_prefix=redis_prefix, http_port=0,
        nats_timeout_s=1.0, rate_auth_ip=1000, rate_user=1000, max_body_bytes=4096,
        web_dist=tmp_path / "no-dist", ws_revocation_check_s=0.2, jwks_min_refetch_s=0.5,
        trusted_proxies=["127.0.0.1"],
    )


@pytest.fixture
async def gw(gateway_settings: GatewaySettings) -> Any:
    fake = FakeAuth()
    nc = await connect(gateway_settings, name="fake-auth")
    micro = MicroService(nc, f"auth{uuid.uuid4().hex[:6]}")
    fake.register(micro)
    await micro.start()
    app = GatewayApp(gateway_settings)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app)
        r = aioredis.from_url(gateway_settings.redis_url)
        stack.push_async_callback(r.aclose)
        url = f"http://127.0.0.1:{app.port}"
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=5))
        yield RunningGateway(url, app, fake, r, gateway_settings.redis_prefix, http)
    await micro.stop()
    await nc.drain()

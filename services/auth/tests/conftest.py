"""An in-process auth service on real NATS, Postgres and Redis, and a client that acts
like the gateway: it verifies access tokens and forwards the caller's identity in headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import orjson
import pytest
from auth.app import build_app
from auth.settings import AuthSettings
from auth.tokens import KeyRing, load_pem, verify_access_token
from contracts import auth as A
from contracts import headers as h
from contracts import subjects
from contracts.errors import ApiError
from contracts.events.auth import EVENT_NAMES, MAIL_EVENTS
from nats.js.errors import NotFoundError
from svckit.errors import RemoteError
from svckit.nats import request

PASSWORD = "Correct-horse-1"
ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "Root-password-9"
IP = "203.0.113.5"


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll until `probe` returns something truthy, failing at the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.05)


@dataclass
class Harness:
    """Talks to the running service as the gateway would."""

    nc: nats.NATS
    rt: Any
    settings: AuthSettings
    ring: KeyRing

    PASSWORD = PASSWORD
    IP = IP
    ADMIN_EMAIL = ADMIN_EMAIL
    ADMIN_PASSWORD = ADMIN_PASSWORD

    @staticmethod
    async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
        """Poll until `probe` returns something truthy, failing at the deadline."""
        return await eventually(probe, timeout)

    def headers(self, token: str | None, ip: str | None = IP) -> dict[str, str]:
        """Build the identity headers the gateway derives from a verified access token."""
        out = {h.USER_AGENT: "pytest", h.REQUEST_ID: "req-test"}
        if ip:
            out[h.CLIENT_IP] = ip
        if token:
            claims = verify_access_token(self.ring, token)
            out |= {h.USER_ID: claims.sub, h.USER_ROLE: claims.role, h.SESSION_ID: claims.sid}
            if claims.ev:
                out[h.EMAIL_VERIFIED] = "true"
        return out

    async def call(self, subject: str, body: Any = None, *, token: str | None = None,
                   ip: str | None = IP) -> Any:
        """Send a request and return the decoded reply."""
        return await request(self.nc, subject, body if body is not None else {},
                             headers=self.headers(token, ip), timeout=15)

    async def error(self, subject: str, body: Any = None, **kw: Any) -> ApiError:
        """Send a request that must fail and return its error body."""
        with pytest.raises(RemoteError) as info:
            await self.call(subject, body, **kw)
        return info.value.api_error

    async def register(self, email: str, password: str = PASSWORD, name: str = "Ann") -> dict:
        """Create an account."""
        return await self.call(A.REGISTER, {"email": email, "password": password, "name": name})

    async def login(self, email: str, password: str = PASSWORD, ip: str = IP) -> dict:
        """Sign in (no 2FA) and return the token pair."""
        result = await self.call(A.LOGIN, {"email": email, "password": password}, ip=ip)
        assert result["twoFactorRequired"] is False
        return result["tokens"]

    async def event(self, user_id: str, name: str) -> dict:
        """Return the newest user event of a kind once the outbox relay has published it."""
        js = self.nc.jetstream()
        mail = name in {EVENT_NAMES[cls] for cls in MAIL_EVENTS}  # secrets: on mail., not evt.
        subject = (subjects.mail_request if mail else subjects.user_event)(user_id, "auth", name)

        async def last() -> dict | None:
            try:
                msg = await js.get_last_msg("MAIL" if mail else "EVENTS", subject)
            except NotFoundError:
                return None
            return orjson.loads(msg.data)

        return await eventually(last)

    async def redis_get(self, key: str) -> bytes | None:
        """Read a raw Redis key."""
        return await self.rt.redis.get(key)

    async def revoked(self, token: str) -> bool:
        """Apply the gateway's revocation check to an access token."""
        claims = verify_access_token(self.ring, token)
        prefix = self.settings.redis_prefix
        if await self.redis_get(A.revoked_session_key(prefix, claims.sid)):
            return True
        before = await self.redis_get(A.user_revoked_before_key(prefix, claims.sub))
        return before is not None and claims.iat < int(before)


def make_settings(nats_url: str, dsn: str, redis_url: str, prefix: str, tmp_path,
                  **overrides: Any) -> AuthSettings:
    """Return settings for one test: cheap argon2, small throttling limits, own key dir."""
    values: dict[str, Any] = {
        "environment": "test", "nats_url": nats_url, "database_url": dsn, "redis_url": redis_url,
        "redis_prefix": prefix, "dev_secrets_dir": tmp_path / "secrets", "db_pool_max": 6,
        "argon2_time_cost": 1, "argon2_memory_kib": 8 * 1024, "forgot_password_min_reply_s": 0.2,
        "login_max_failures_per_account": 3, "login_max_failures_per_ip": 6,
        "admin_email": ADMIN_EMAIL, "admin_password": ADMIN_PASSWORD, "log_mail_links": True,
    }
    values.update(overrides)
    return AuthSettings(**values)


@pytest.fixture
async def svc(request, nats_url, pg_service_dsn, redis_url, redis_prefix,
              tmp_path) -> AsyncIterator[Harness]:
    """Run build_app in-process and yield a gateway-like client.

    Settings can be overridden per test: `@pytest.mark.parametrize("svc", [{...}], indirect=True)`.
    """
    settings = make_settings(nats_url, pg_service_dsn("auth"), redis_url, redis_prefix, tmp_path,
                             **getattr(request, "param", {}))
    async with build_app(settings) as rt:
        ring = KeyRing.from_files(sorted((tmp_path / "secrets" / "jwt").glob("*.pem")))
        assert ring.active.kid == load_pem(next((tmp_path / "secrets" / "jwt").glob("*.pem"))).kid
        nc = await nats.connect(nats_url)
        try:
            yield Harness(nc, rt, settings, ring)
        finally:
            await nc.close()

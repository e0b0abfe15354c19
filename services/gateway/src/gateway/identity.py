"""Who is calling: a bearer JWT or an `X-API-Key`, checked against revocations in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from contracts import auth as A
from contracts.errors import ErrorCode
from nats.aio.client import Client
from redis.exceptions import RedisError
from svckit.errors import RemoteError, Unavailable
from svckit.logging import get_logger
from svckit.nats import request

from .errors import HttpError
from .ratelimit import RateCheck, decide, enforce
from .tokens import Claims, InvalidToken, TokenVerifier

log = get_logger(__name__)
API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user_id: str
    role: str
    email_verified: bool
    session_id: str | None = None
    api_key_id: str | None = None
    issued_at: float = 0.0
    rate_checked: bool = False
    """The caller's per-user rate limit was already counted (with the session check)."""


def unauthorized(message: str = "Authentication required") -> HttpError:
    """Return the 401 every authentication failure answers with."""
    return HttpError.of(ErrorCode.UNAUTHORIZED, message,
                        headers={"WWW-Authenticate": 'Bearer realm="api"'})


class Authenticator:
    """Resolve request credentials to a Principal."""

    def __init__(self, verifier: TokenVerifier, redis: aioredis.Redis, nc: Client,
                 redis_prefix: str, timeout_s: float) -> None:
        self.verifier = verifier
        self._redis = redis
        self._nc = nc
        self._prefix = redis_prefix
        self._timeout = timeout_s

    async def from_token(self, token: str, rate: RateCheck | None = None) -> Principal:
        """Verify an access token and its session; raise 401 when either is not valid.

        With `rate`, the user's rate limit is counted in the same Redis round trip as the
        session check (and enforced after it: a revoked token answers 401, not 429).
        """
        try:
            claims = await self.verifier.verify(token)
        except InvalidToken as exc:
            log.info("auth.token_refused", reason=str(exc))
            raise unauthorized("Invalid or expired access token") from exc
        revoked, decision = await self._check(claims, rate)
        if revoked:
            raise unauthorized("This session has ended; sign in again")
        if decision is not None:
            enforce(decision)
        return Principal(claims.user_id, claims.role, claims.email_verified, claims.session_id,
                         issued_at=claims.issued_at, rate_checked=decision is not None)

    async def revoked(self, claims: Claims) -> bool:
        """Return whether the token's session or all the user's older tokens were revoked."""
        return (await self._check(claims, None))[0]

    async def _check(self, claims: Claims, rate: RateCheck | None) -> tuple[bool, Any]:
        pipe = self._redis.pipeline(transaction=False)
        if claims.session_id:
            pipe.exists(A.revoked_session_key(self._prefix, claims.session_id))
        pipe.get(A.user_revoked_before_key(self._prefix, claims.user_id))
        if rate is not None:
            rate.limiter.queue(pipe, rate.bucket, claims.user_id, rate.window_s)
        try:
            results = await pipe.execute()
        except RedisError as exc:
            # Fail closed: without the revocation list we cannot honour a logout.
            raise HttpError.of(ErrorCode.SERVICE_UNAVAILABLE,
                               "Session store unavailable; try again shortly") from exc
        decision = decide(results.pop(), rate.limit) if rate is not None else None
        if claims.session_id and results[0]:
            return True, decision
        before = results[-1]
        if before is None:
            return False, decision
        try:
            return claims.issued_at < float(before), decision
        except ValueError:
            return True, decision

    async def from_api_key(self, key: str) -> Principal:
        """Resolve an API key through auth; raise 401 when auth does not know it."""
        try:
            owner = await request(self._nc, A.VERIFY_API_KEY, A.VerifyApiKey(api_key=key),
                                  timeout=self._timeout)
        except RemoteError as exc:
            raise unauthorized("Invalid API key") from exc
        except Unavailable as exc:
            raise HttpError.of(ErrorCode.SERVICE_UNAVAILABLE, str(exc)) from exc
        except ValueError as exc:  # a key too short/long for the model is simply wrong
            raise unauthorized("Invalid API key") from exc
        parsed = A.ApiKeyOwner.model_validate(owner)
        return Principal(parsed.user_id, parsed.role.value, parsed.email_verified,
                         api_key_id=parsed.key_id)

    async def authenticate(self, authorization: str | None, api_key: str | None,
                           rate: RateCheck | None = None) -> Principal | None:
        """Return the caller, None when no credentials were sent, or raise 401."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthorized("Use 'Authorization: Bearer <access token>'")
            return await self.from_token(token.strip(), rate)
        if api_key:
            return await self.from_api_key(api_key.strip())
        return None

"""Who is calling: a bearer JWT or an `X-API-Key`, checked against revocations in Redis."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from contracts import auth as A
from contracts.errors import ErrorCode
from nats.aio.client import Client
from redis.exceptions import RedisError
from svckit.errors import RemoteError, Unavailable
from svckit.logging import get_logger
from svckit.nats import request

from .errors import HttpError
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

    async def from_token(self, token: str) -> Principal:
        """Verify an access token and its session; raise 401 when either is not valid."""
        try:
            claims = await self.verifier.verify(token)
        except InvalidToken as exc:
            log.info("auth.token_refused", reason=str(exc))
            raise unauthorized("Invalid or expired access token") from exc
        if await self.revoked(claims):
            raise unauthorized("This session has ended; sign in again")
        return Principal(claims.user_id, claims.role, claims.email_verified, claims.session_id,
                         issued_at=claims.issued_at)

    async def revoked(self, claims: Claims) -> bool:
        """Return whether the token's session or all the user's older tokens were revoked."""
        pipe = self._redis.pipeline(transaction=False)
        if claims.session_id:
            pipe.exists(A.revoked_session_key(self._prefix, claims.session_id))
        pipe.get(A.user_revoked_before_key(self._prefix, claims.user_id))
        try:
            results = await pipe.execute()
        except RedisError as exc:
            # Fail closed: without the revocation list we cannot honour a logout.
            raise HttpError.of(ErrorCode.SERVICE_UNAVAILABLE,
                               "Session store unavailable; try again shortly") from exc
        if claims.session_id and results[0]:
            return True
        before = results[-1]
        if before is None:
            return False
        try:
            return claims.issued_at < float(before)
        except ValueError:
            return True

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

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal | None:
        """Return the caller, None when no credentials were sent, or raise 401."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthorized("Use 'Authorization: Bearer <access token>'")
            return await self.from_token(token.strip())
        if api_key:
            return await self.from_api_key(api_key.strip())
        return None

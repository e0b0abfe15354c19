"""Redis side of security: immediate revocation and failed-attempt throttling.

Revocation keys are those of contracts.auth, read by the gateway on every request; they
live as long as an access token can, after which the token has expired anyway.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import redis.asyncio as aioredis
from contracts.auth import revoked_session_key, user_revoked_before_key
from redis.exceptions import RedisError
from svckit.errors import Unavailable

from .domain import throttle_retry_after
from .errors import TooManyAttempts


class Guard:
    """Revoke sessions and count failed attempts under the deployment's Redis prefix."""

    def __init__(self, redis: aioredis.Redis, prefix: str, *, access_ttl_s: int,
                 max_per_account: int, max_per_ip: int, window_s: int) -> None:
        self._r = redis
        self._prefix = prefix
        self._access_ttl_s = access_ttl_s
        self._max_account = max_per_account
        self._max_ip = max_per_ip
        self._window_s = window_s

    async def revoke_sessions(self, session_ids: list[str]) -> None:
        """Make every access token of these sessions invalid now."""
        if not session_ids:
            return
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for sid in session_ids:
                    pipe.set(revoked_session_key(self._prefix, sid), b"1", ex=self._access_ttl_s)
                await pipe.execute()
        except RedisError as exc:
            raise Unavailable("Revocation store unavailable") from exc

    async def revoke_user_before(self, user_id: str, now: datetime) -> None:
        """Make every access token of a user issued before now invalid."""
        try:
            await self._r.set(user_revoked_before_key(self._prefix, user_id),
                              str(int(now.timestamp())).encode(), ex=self._access_ttl_s)
        except RedisError as exc:
            raise Unavailable("Revocation store unavailable") from exc

    def _account_key(self, email: str) -> str:
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        return f"{self._prefix}auth:throttle:acct:{digest}"

    def _ip_key(self, ip: str) -> str:
        return f"{self._prefix}auth:throttle:ip:{ip}"

    def _keys(self, account: str, ip: str | None) -> list[tuple[str, int]]:
        keys = [(self._account_key(account), self._max_account)]
        if ip:
            keys.append((self._ip_key(ip), self._max_ip))
        return keys

    async def check(self, account: str, ip: str | None) -> None:
        """Refuse with RATE_LIMITED while the account or the IP is over its failure limit."""
        try:
            for key, limit in self._keys(account, ip):
                raw = await self._r.get(key)
                if raw is None:
                    continue
                ttl = await self._r.ttl(key)
                wait = throttle_retry_after(int(raw), limit, ttl if ttl > 0 else self._window_s)
                if wait is not None:
                    raise TooManyAttempts(wait)
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

    async def failed(self, account: str, ip: str | None) -> None:
        """Count one failed attempt against the account and the IP."""
        try:
            for key, _ in self._keys(account, ip):
                async with self._r.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.ttl(key)
                    _, ttl = await pipe.execute()
                if ttl < 0:  # first failure of the window (or a key left without expiry)
                    await self._r.expire(key, self._window_s)
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

    async def succeeded(self, account: str) -> None:
        """Forget the account's failures after a successful sign-in."""
        try:
            await self._r.delete(self._account_key(account))
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

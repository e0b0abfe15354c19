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

# INCR and start the window on the first count, atomically; returns {count, ttl}
_INCR = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""
# DECR that never goes below zero nor creates a key without expiry
_DECR = """
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


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
        self._incr = redis.register_script(_INCR)
        self._decr = redis.register_script(_DECR)

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

    async def attempt(self, account: str, ip: str | None) -> None:
        """Count an attempt before checking it; refuse with RATE_LIMITED beyond the limits.

        Counting first (not after a failure) means parallel guesses cannot all slip in
        before the first failure is recorded. An attempt that turns out right is given back
        with `forgive` or `succeeded`; a refused one is not counted.
        """
        counted: list[str] = []
        try:
            for key, limit in self._keys(account, ip):
                n, ttl = await self._incr(keys=[key], args=[self._window_s])
                counted.append(key)
                wait = throttle_retry_after(int(n) - 1, limit, int(ttl))
                if wait is not None:
                    for done in counted:
                        await self._decr(keys=[done])
                    raise TooManyAttempts(wait)
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

    async def forgive(self, account: str, ip: str | None) -> None:
        """Give back an attempt that was not a failure (e.g. the password before a 2FA step)."""
        try:
            for key, _ in self._keys(account, ip):
                await self._decr(keys=[key])
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

    async def succeeded(self, account: str, ip: str | None) -> None:
        """Forget the account's failures after a full sign-in; give back the IP's attempt."""
        try:
            await self._r.delete(self._account_key(account))
            if ip:
                await self._decr(keys=[self._ip_key(ip)])
        except RedisError as exc:
            raise Unavailable("Throttle store unavailable") from exc

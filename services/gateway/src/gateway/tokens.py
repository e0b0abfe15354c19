"""Access-token verification: EdDSA only, against the JWKS that auth publishes over NATS.

Keys are fetched at start and again when a token names a key id we do not know (auth
rotated its key), at most once per `min_refetch_s` so a flood of made-up key ids cannot
turn into a flood of NATS requests.

A verified token's claims are remembered, keyed by the whole token, until it expires: a
client repeats its token on every call, and the signature check is the costliest step of
a request in the gateway. Reloading the keys forgets them all (a key that leaves the JWKS
stops vouching at once); revocation is not cached, it is checked on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from contracts.auth import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, JwkSet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from svckit.logging import get_logger

log = get_logger(__name__)
ALGORITHM = "EdDSA"
LEEWAY_S = 5


class InvalidToken(Exception):
    """The token is not a valid access token (the message says why, for the logs)."""


@dataclass(frozen=True)
class Claims:
    """What an access token says about its bearer."""

    user_id: str
    role: str
    session_id: str | None
    email_verified: bool
    issued_at: float
    expires_at: float

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Claims:
        """Read the claims auth puts in an access token."""
        sub, role = p.get("sub"), p.get("role")
        if not isinstance(sub, str) or not sub or not isinstance(role, str):
            raise InvalidToken("token lacks sub or role")
        verified = p.get("emailVerified", p.get("email_verified", p.get("ev", False)))
        sid = p.get("sid")
        return cls(user_id=sub, role=role, session_id=str(sid) if sid else None,
                   email_verified=verified is True, issued_at=float(p["iat"]),
                   expires_at=float(p["exp"]))


JwksFetcher = Callable[[], Awaitable[JwkSet]]


class TokenVerifier:
    """Verify access tokens locally with auth's public keys."""

    def __init__(self, fetch: JwksFetcher, min_refetch_s: float = 10.0,
                 cache_size: int = 10_000) -> None:
        self._fetch = fetch
        self._min_refetch_s = min_refetch_s
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._verified: dict[str, Claims] = {}
        self._cache_size = cache_size
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def key_ids(self) -> list[str]:
        """Return the key ids currently trusted."""
        return list(self._keys)

    def load(self, jwks: JwkSet) -> None:
        """Replace the trusted keys with this set."""
        keys = {}
        for jwk in jwks.keys:
            key = OKPAlgorithm.from_jwk(jwk.model_dump_json())
            if isinstance(key, Ed25519PublicKey):
                keys[jwk.kid] = key
        self._keys = keys
        self._verified = {}

    async def refresh(self, force: bool = False) -> bool:
        """Fetch the JWKS unless fetched recently; return whether a fetch happened."""
        async with self._lock:
            now = time.monotonic()
            if not force and now - self._last_fetch < self._min_refetch_s:
                return False
            self._last_fetch = now
            try:
                self.load(await self._fetch())
            except Exception as exc:  # noqa: BLE001 - auth may be down; keep the keys we have
                log.warning("jwks.fetch_failed", error=str(exc))
                # Retry soon: a gateway started before auth must not wait a full interval.
                self._last_fetch = now - self._min_refetch_s + min(1.0, self._min_refetch_s)
                return False
            log.info("jwks.loaded", kids=self.key_ids)
            return True

    async def verify(self, token: str) -> Claims:
        """Return the claims of a valid access token, or raise InvalidToken."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() <= known.expires_at + LEEWAY_S:
                return known
            del self._verified[token]
            raise InvalidToken("Signature has expired")
        claims = await self._verify(token)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()  # cheap and rare: at worst every token is checked once more
        self._verified[token] = claims
        return claims

    async def _verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        key = self._keys.get(kid)
        if key is None and await self.refresh():
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown key id {kid!r}")
        try:
            payload = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=ACCESS_TOKEN_AUDIENCE,
                issuer=ACCESS_TOKEN_ISSUER, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "sid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return Claims.from_payload(payload)

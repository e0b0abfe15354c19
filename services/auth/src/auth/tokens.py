"""Access tokens (JWT, EdDSA/Ed25519) with a rotatable key ring, and opaque refresh tokens.

Keys are PEM files. A private key can sign; a public-only PEM is still published in the
JWKS so tokens it signed stay verifiable while it is being retired. Each key's `kid` is its
RFC 7638 thumbprint, so every instance derives the same kid from the same file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from contracts.auth import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, Jwk, JwkSet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "role", "iat", "exp", "jti"]


class SigningKeyError(ValueError):
    """The configured signing keys are unusable."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(public: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(public))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


@dataclass(frozen=True)
class SigningKey:
    """One key of the ring; `private` is None for a key kept only to verify."""

    kid: str
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None
    mtime: float = 0.0

    def jwk(self) -> Jwk:
        """Return the public JWK."""
        return Jwk(x=_b64url(_raw_public(self.public)), kid=self.kid)


def load_pem(path: Path) -> SigningKey:
    """Load an Ed25519 private or public key from a PEM file."""
    data = path.read_bytes()
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise SigningKeyError(f"{path}: not an Ed25519 key")
            public = private.public_key()
        else:
            private = None
            public = serialization.load_pem_public_key(data)
            if not isinstance(public, Ed25519PublicKey):
                raise SigningKeyError(f"{path}: not an Ed25519 key")
    except ValueError as exc:
        raise SigningKeyError(f"{path}: {exc}") from exc
    return SigningKey(thumbprint(public), public, private, path.stat().st_mtime)


def generate_pem(path: Path) -> SigningKey:
    """Write a new Ed25519 private key (PEM, mode 0600) and return it."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return load_pem(path)


class KeyRing:
    """Every key the JWKS publishes, and the one that signs."""

    def __init__(self, keys: list[SigningKey], active_kid: str | None = None) -> None:
        if not keys:
            raise SigningKeyError("no signing keys")
        self._keys = {k.kid: k for k in keys}
        if active_kid is None:
            signers = [k for k in keys if k.private is not None]
            if not signers:
                raise SigningKeyError("no private key to sign with")
            active_kid = max(signers, key=lambda k: k.mtime).kid
        active = self._keys.get(active_kid)
        if active is None or active.private is None:
            raise SigningKeyError(f"active kid {active_kid!r} has no private key in the ring")
        self.active = active

    @classmethod
    def from_files(cls, files: list[Path], active_kid: str | None = None) -> KeyRing:
        """Load a ring from PEM files (the newest private key signs unless told otherwise)."""
        return cls([load_pem(p) for p in files], active_kid)

    def jwks(self) -> JwkSet:
        """Return every public key (active and retiring)."""
        return JwkSet(keys=[k.jwk() for k in self._keys.values()])

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """Return the public key of a kid, if it is in the ring."""
        key = self._keys.get(kid)
        return key.public if key else None


@dataclass(frozen=True)
class AccessClaims:
    """What an access token says."""

    sub: str
    sid: str
    role: str
    ev: bool
    iat: int
    exp: int
    jti: str


def issue_access_token(ring: KeyRing, *, user_id: str, session_id: str, role: str,
                       email_verified: bool, now: datetime, ttl_s: int) -> str:
    """Sign an access token with the active key."""
    iat = int(now.timestamp())
    claims = {
        "iss": ACCESS_TOKEN_ISSUER, "aud": ACCESS_TOKEN_AUDIENCE, "sub": user_id,
        "sid": session_id, "role": role, "ev": email_verified,
        "iat": iat, "exp": iat + ttl_s, "jti": str(uuid.uuid4()),
    }
    assert ring.active.private is not None
    return jwt.encode(claims, ring.active.private, algorithm=ALGORITHM,
                      headers={"kid": ring.active.kid, "typ": "JWT"})


class InvalidToken(ValueError):
    """The token is not a valid access token."""


def verify_access_token(ring: KeyRing, token: str, *, now: datetime | None = None,
                        leeway_s: int = 0) -> AccessClaims:
    """Verify signature, algorithm, issuer, audience and lifetime; return the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected algorithm")
    key = ring.public_key(str(header.get("kid", "")))
    if key is None:
        raise InvalidToken("unknown key id")
    options: dict[str, Any] = {"require": REQUIRED_CLAIMS}
    if now is not None:
        # PyJWT reads the wall clock; shift the leeway so a test can pin "now".
        options["verify_exp"] = False
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=ACCESS_TOKEN_AUDIENCE,
                            issuer=ACCESS_TOKEN_ISSUER, leeway=leeway_s, options=options)
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if now is not None and int(now.timestamp()) >= int(claims["exp"]) + leeway_s:
        raise InvalidToken("Signature has expired")
    return AccessClaims(sub=claims["sub"], sid=claims["sid"], role=claims["role"],
                        ev=bool(claims.get("ev", False)), iat=int(claims["iat"]),
                        exp=int(claims["exp"]), jti=claims["jti"])


# --- opaque secrets (refresh, reset, verification, challenge tokens) ----------------


def new_secret() -> str:
    """Return a fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """Return the SHA-256 of a token, the only form stored."""
    return hashlib.sha256(secret.encode()).digest()


def expires(now: datetime, ttl_s: int) -> datetime:
    """Return now + ttl in UTC."""
    return now.astimezone(UTC) + timedelta(seconds=ttl_s)

"""Access-token checks: only EdDSA from auth's keys, right issuer/audience, not expired."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway.tokens import InvalidToken, TokenVerifier


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


async def _verifier(fake, min_refetch_s: float = 60.0):
    calls = []

    async def fetch():
        calls.append(1)
        return fake.jwks()

    v = TokenVerifier(fetch, min_refetch_s)
    await v.refresh(force=True)
    return v, calls


async def test_valid_token_gives_its_claims(fake):
    v, _ = await _verifier(fake)
    c = await v.verify(fake.token(sub="u7", role="admin", sid="s7", ev=False))
    assert (c.user_id, c.role, c.session_id, c.email_verified) == ("u7", "admin", "s7", False)


async def test_alg_none_is_refused(fake):
    v, _ = await _verifier(fake)
    payload = jwt.decode(fake.token(), options={"verify_signature": False})
    unsigned = f"{_b64({'alg': 'none', 'kid': fake.kid, 'typ': 'JWT'})}.{_b64(payload)}."
    with pytest.raises(InvalidToken, match="algorithm"):
        await v.verify(unsigned)


async def test_hs256_signed_with_the_public_key_is_refused(fake):
    v, _ = await _verifier(fake)
    public_pem = fake.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = jwt.decode(fake.token(), options={"verify_signature": False})
    header = _b64({"alg": "HS256", "kid": fake.kid, "typ": "JWT"})
    signing_input = f"{header}.{_b64(payload)}".encode()
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256)
                                   .digest()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="algorithm"):
        await v.verify(f"{signing_input.decode()}.{sig}")


async def test_tampered_payload_is_refused(fake):
    v, _ = await _verifier(fake)
    head, _, sig = fake.token(role="user").split(".")
    payload = jwt.decode(fake.token(), options={"verify_signature": False}) | {"role": "admin"}
    with pytest.raises(InvalidToken, match="[Ss]ignature"):
        await v.verify(f"{head}.{_b64(payload)}.{sig}")


async def test_expired_wrong_issuer_and_wrong_audience_are_refused(fake):
    v, _ = await _verifier(fake)
    with pytest.raises(InvalidToken, match="expired"):
        await v.verify(fake.token(iat=int(time.time()) - 3600, ttl=60))
    with pytest.raises(InvalidToken, match="[Ii]ssuer"):
        await v.verify(fake.token(iss="someone-else"))
    with pytest.raises(InvalidToken, match="[Aa]udience"):
        await v.verify(fake.token(aud="another-api"))


async def test_token_from_a_foreign_key_is_refused(fake):
    v, _ = await _verifier(fake)
    other = Ed25519PrivateKey.generate()
    payload = jwt.decode(fake.token(), options={"verify_signature": False})
    forged = jwt.encode(payload, other, algorithm="EdDSA", headers={"kid": fake.kid})
    with pytest.raises(InvalidToken):
        await v.verify(forged)


async def test_unknown_kid_refetches_at_most_once_per_interval(fake):
    v, calls = await _verifier(fake, min_refetch_s=0.0)
    assert len(calls) == 1
    fake.kid = "k2"  # auth rotated its key
    c = await v.verify(fake.token(sub="u2"))
    assert c.user_id == "u2" and len(calls) == 2

    slow, slow_calls = await _verifier(fake, min_refetch_s=60.0)
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            await slow.verify(jwt.encode({"sub": "x"}, fake.key, algorithm="EdDSA",
                                         headers={"kid": "made-up"}))
    assert len(slow_calls) == 1


async def test_garbage_is_refused(fake):
    v, _ = await _verifier(fake)
    for bad in ("", "abc", "a.b.c", "Bearer xyz"):
        with pytest.raises(InvalidToken):
            await v.verify(bad)


async def test_a_remembered_token_still_expires(fake, monkeypatch):
    v, _ = await _verifier(fake)
    token = fake.token(iat=int(time.time()), ttl=60)
    assert (await v.verify(token)).user_id  # verified once, now remembered
    later = time.time() + 60 + 10  # past exp and the leeway
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        await v.verify(token)


async def test_reloading_the_keys_forgets_remembered_tokens(fake):
    v, _ = await _verifier(fake)
    token = fake.token(sub="u1")
    assert (await v.verify(token)).user_id == "u1"
    old_kid = fake.kid
    fake.kid = "k-rotated"  # auth rotated its key and dropped the old one
    fake.key = Ed25519PrivateKey.generate()
    await v.refresh(force=True)
    with pytest.raises(InvalidToken, match=f"unknown key id '{old_kid}'"):
        await v.verify(token)

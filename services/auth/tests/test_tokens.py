"""Access tokens: signing, verification and the attacks a verifier must refuse."""

import base64
import json
import os
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from auth.tokens import (
    InvalidToken,
    KeyRing,
    SigningKeyError,
    digest,
    generate_pem,
    issue_access_token,
    thumbprint,
    verify_access_token,
)
from contracts.auth import ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NOW = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def ring(tmp_path):
    generate_pem(tmp_path / "a.pem")
    return KeyRing.from_files([tmp_path / "a.pem"])


def _issue(ring, now=NOW, ttl=900, **kw):
    args = {"user_id": "u-1", "session_id": "s-1", "role": "user", "email_verified": True}
    args.update(kw)
    return issue_access_token(ring, now=now, ttl_s=ttl, **args)


def test_thumbprint_matches_rfc8037_example():
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_token_carries_every_claim_and_the_kid(ring):
    token = _issue(ring)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == ring.active.kid
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == ACCESS_TOKEN_ISSUER and payload["aud"] == ACCESS_TOKEN_AUDIENCE
    assert payload["exp"] - payload["iat"] == 900 and payload["jti"]
    claims = verify_access_token(ring, token, now=NOW + timedelta(minutes=5))
    assert (claims.sub, claims.sid, claims.role, claims.ev) == ("u-1", "s-1", "user", True)


def test_expired_token_is_refused(ring):
    token = _issue(ring)
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(ring, token, now=NOW + timedelta(seconds=900))
    real = _issue(ring, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken):
        verify_access_token(ring, real)


def test_tampered_payload_is_refused(ring):
    head, payload, sig = _issue(ring, now=datetime.now(UTC)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = ".".join([head, _b64(json.dumps(claims).encode()), sig])
    with pytest.raises(InvalidToken):
        verify_access_token(ring, forged)


def test_alg_none_is_refused(ring):
    now = int(time.time())
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": ring.active.kid}).encode())
    body = _b64(json.dumps({"iss": ACCESS_TOKEN_ISSUER, "aud": ACCESS_TOKEN_AUDIENCE, "sub": "u",
                            "sid": "s", "role": "admin", "iat": now, "exp": now + 60,
                            "jti": "j"}).encode())
    for token in (f"{header}.{body}.", f"{header}.{body}"):
        with pytest.raises(InvalidToken):
            verify_access_token(ring, token)


def test_hmac_with_the_public_key_is_refused(ring):
    public_pem = ring.active.public.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {"iss": ACCESS_TOKEN_ISSUER, "aud": ACCESS_TOKEN_AUDIENCE, "sub": "u", "sid": "s",
              "role": "admin", "iat": now, "exp": now + 60, "jti": "j"}
    header = _b64(json.dumps({"alg": "HS256", "kid": ring.active.kid}).encode())
    body = _b64(json.dumps(claims).encode())
    import hashlib
    import hmac

    sig = _b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidToken):
        verify_access_token(ring, f"{header}.{body}.{sig}")


def test_a_token_from_another_key_is_refused(ring, tmp_path):
    other = KeyRing([generate_pem(tmp_path / "b.pem")])
    token = _issue(other, now=datetime.now(UTC))
    with pytest.raises(InvalidToken, match="unknown key id"):
        verify_access_token(ring, token)
    # the same kid with a signature from another key: the signature check fails
    forged = jwt.encode({"sub": "u"}, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": ring.active.kid})
    with pytest.raises(InvalidToken):
        verify_access_token(ring, forged)


def test_wrong_audience_or_issuer_is_refused(ring):
    now = int(time.time())
    base = {"sub": "u", "sid": "s", "role": "user", "iat": now, "exp": now + 60, "jti": "j"}
    assert ring.active.private is not None
    for extra in ({"iss": "someone-else", "aud": ACCESS_TOKEN_AUDIENCE},
                  {"iss": ACCESS_TOKEN_ISSUER, "aud": "another-api"}):
        token = jwt.encode({**base, **extra}, ring.active.private, algorithm="EdDSA",
                           headers={"kid": ring.active.kid})
        with pytest.raises(InvalidToken):
            verify_access_token(ring, token)


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_newest(tmp_path):
    generate_pem(tmp_path / "old.pem")
    os.utime(tmp_path / "old.pem", (1, 1))
    old_ring = KeyRing.from_files([tmp_path / "old.pem"])
    old_token = _issue(old_ring, now=datetime.now(UTC))
    generate_pem(tmp_path / "new.pem")
    ring = KeyRing.from_files([tmp_path / "old.pem", tmp_path / "new.pem"])
    assert ring.active.kid != old_ring.active.kid
    assert {k.kid for k in ring.jwks().keys} == {old_ring.active.kid, ring.active.kid}
    assert verify_access_token(ring, old_token).sub == "u-1"
    pinned = KeyRing.from_files([tmp_path / "old.pem", tmp_path / "new.pem"],
                                active_kid=old_ring.active.kid)
    assert pinned.active.kid == old_ring.active.kid


def test_a_public_only_key_is_published_but_never_signs(tmp_path):
    key = generate_pem(tmp_path / "k.pem")
    (tmp_path / "retired.pem").write_bytes(key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "k.pem").unlink()
    generate_pem(tmp_path / "live.pem")
    ring = KeyRing.from_files([tmp_path / "retired.pem", tmp_path / "live.pem"])
    assert key.kid in {k.kid for k in ring.jwks().keys} and ring.active.kid != key.kid
    with pytest.raises(SigningKeyError):
        KeyRing.from_files([tmp_path / "retired.pem"])
    with pytest.raises(SigningKeyError):
        KeyRing.from_files([tmp_path / "retired.pem", tmp_path / "live.pem"], active_kid=key.kid)


def test_jwk_is_the_raw_public_key(ring):
    jwk = ring.jwks().keys[0]
    raw = ring.active.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert (jwk.kty, jwk.crv, jwk.alg, jwk.use) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert jwk.x == _b64(raw) and jwk.kid == ring.active.kid


def test_secrets_are_stored_as_sha256():
    assert len(digest("x")) == 32 and digest("x") != digest("y")

"""Envelope encryption of broker credentials (ARCHITECTURE.md §5).

Each record gets a random 256-bit data key; the secrets are sealed with AES-256-GCM under it,
and the data key is sealed under the active master key (`kid:base64,...`, first is active).
Both seals bind the associated data (owner user id + account id), so a blob copied to another
row or user does not open. Rotation re-wraps data keys under the new master key.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1


class CredentialError(Exception):
    """A credential blob cannot be opened (wrong key, tampered, or bound to another row)."""


def associated_data(user_id: str, account_id: str) -> bytes:
    """Return the associated data that binds a blob to its owner and account."""
    return f"brokerage:v{VERSION}:user={user_id}:account={account_id}".encode()


@dataclass(frozen=True)
class KeyRing:
    """Master keys by id; the first is the one that encrypts."""

    keys: dict[str, bytes]
    active: str

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse `kid:base64,kid2:base64` (each key 32 bytes)."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, b64 = item.partition(":")
            if not sep or not kid:
                raise ValueError("credential keys look like kid:base64key,...")
            key = base64.b64decode(b64)
            if len(key) != 32:
                raise ValueError(f"credential key {kid!r} must be 32 bytes (AES-256)")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise ValueError("at least one credential key is required")
        return cls(keys, order[0])

    @staticmethod
    def generate(kid: str) -> str:
        """Return a fresh `kid:base64` key spec (for operators and tests)."""
        return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"

    def seal(self, secrets: dict[str, str], aad: bytes) -> bytes:
        """Encrypt a dict of secrets; return the stored blob."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        ct = AESGCM(data_key).encrypt(nonce, json.dumps(secrets).encode(), aad)
        return self._blob(self.active, self._wrap(self.active, data_key, aad), nonce, ct)

    def open(self, blob: bytes, aad: bytes) -> dict[str, str]:
        """Decrypt a stored blob."""
        doc = self._parse(blob)
        data_key = self._unwrap(doc, aad)
        try:
            plain = AESGCM(data_key).decrypt(_b(doc["n"]), _b(doc["ct"]), aad)
        except InvalidTag as exc:
            raise CredentialError("credential blob does not open") from exc
        return json.loads(plain)

    def rewrap(self, blob: bytes, aad: bytes) -> bytes | None:
        """Return the blob with its data key under the active key, or None if it already is."""
        doc = self._parse(blob)
        if doc["kid"] == self.active:
            return None
        data_key = self._unwrap(doc, aad)
        return self._blob(self.active, self._wrap(self.active, data_key, aad), _b(doc["n"]),
                          _b(doc["ct"]))

    @staticmethod
    def key_id(blob: bytes) -> str:
        """Return the master key id a blob is wrapped with."""
        return KeyRing._parse(blob)["kid"]

    def _wrap(self, kid: str, data_key: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.keys[kid]).encrypt(nonce, data_key, b"wrap:" + aad)

    def _unwrap(self, doc: dict, aad: bytes) -> bytes:
        key = self.keys.get(doc["kid"])
        if key is None:
            raise CredentialError(f"master key {doc['kid']!r} is not configured")
        wrapped = _b(doc["wk"])
        try:
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], b"wrap:" + aad)
        except InvalidTag as exc:
            raise CredentialError("credential blob does not open") from exc

    @staticmethod
    def _blob(kid: str, wrapped: bytes, nonce: bytes, ct: bytes) -> bytes:
        return json.dumps({"v": VERSION, "kid": kid, "wk": _s(wrapped), "n": _s(nonce),
                           "ct": _s(ct)}).encode()

    @staticmethod
    def _parse(blob: bytes) -> dict:
        try:
            doc = json.loads(bytes(blob))
            if doc.get("v") != VERSION:
                raise ValueError("unknown version")
            return doc
        except (ValueError, TypeError) as exc:
            raise CredentialError("credential blob is malformed") from exc


def _s(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b(text: str) -> bytes:
    return base64.b64decode(text)

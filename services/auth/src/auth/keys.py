"""Load the JWT key ring and the data-encryption key from settings (dev may generate them)."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from svckit.logging import get_logger

from .settings import AuthSettings
from .tokens import KeyRing, SigningKeyError, generate_pem

log = get_logger(__name__)
_FORMAT = b"\x01"  # version byte of the stored ciphertext layout: v1 | nonce(12) | ct+tag


def load_keyring(settings: AuthSettings) -> KeyRing:
    """Build the key ring from the configured PEMs; in dev/test generate one if none."""
    files: list[Path] = []
    if settings.jwt_private_key_file is not None:
        files.append(settings.jwt_private_key_file)
    if settings.jwt_keys_dir is not None and settings.jwt_keys_dir.is_dir():
        files += sorted(p for p in settings.jwt_keys_dir.glob("*.pem") if p not in files)
    if not files:
        if settings.environment == "prod":
            raise SigningKeyError("no JWT signing key configured")
        dev_dir = settings.dev_secrets_dir / "jwt"
        files = sorted(dev_dir.glob("*.pem"))
        if not files:
            generated = generate_pem(dev_dir / "dev-signing-key.pem")
            log.warning("auth.dev_signing_key_generated", path=str(dev_dir), kid=generated.kid)
            files = [dev_dir / "dev-signing-key.pem"]
    ring = KeyRing.from_files(files, settings.jwt_active_kid)
    log.info("auth.keyring", active_kid=ring.active.kid, kids=[k.kid for k in ring.jwks().keys])
    return ring


def load_data_key(settings: AuthSettings) -> bytes:
    """Return the 32-byte AES key; in dev/test derive one from a generated seed file."""
    if settings.data_key is not None:
        try:
            key = base64.b64decode(settings.data_key.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("AUTH_DATA_KEY must be base64") from exc
        if len(key) != 32:
            raise ValueError("AUTH_DATA_KEY must decode to 32 bytes")
        return key
    if settings.environment == "prod":
        raise ValueError("AUTH_DATA_KEY is required in prod")
    seed_file = settings.dev_secrets_dir / "data-key.seed"
    if not seed_file.exists():
        seed_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(seed_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    log.warning("auth.dev_data_key", path=str(seed_file),
                hint="set AUTH_DATA_KEY (base64 of 32 random bytes) outside dev")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"algotrade-auth-data-key").derive(seed_file.read_bytes())


class SecretBox:
    """AES-256-GCM for small secrets, bound to their owner by associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, owner: str) -> bytes:
        """Encrypt a secret for one owner."""
        nonce = secrets.token_bytes(12)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext.encode(), owner.encode())

    def open(self, blob: bytes, owner: str) -> str:
        """Decrypt a secret sealed for this owner (raises ValueError if tampered or moved)."""
        if not blob or blob[:1] != _FORMAT:
            raise ValueError("unknown ciphertext format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], owner.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("ciphertext does not open with this key and owner") from exc

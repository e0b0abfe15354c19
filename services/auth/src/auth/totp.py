"""TOTP (RFC 6238, 30 s steps, 6 digits, ±1 step) and one-time recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

STEP_S = 30
WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


def new_secret() -> str:
    """Return a fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def otpauth_url(secret: str, account: str, issuer: str) -> str:
    """Return the otpauth:// URL an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def code_at(secret: str, at: datetime) -> str:
    """Return the code valid at an instant (tests and tools)."""
    return pyotp.TOTP(secret).at(at)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """Return the time step a code belongs to (within ±1 step of now), or None.

    A step at or before `last_step` is refused, so a code seen once cannot be replayed.
    """
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_S
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Return n fresh recovery codes like `k7p2m-x9qrt` (about 49 bits each)."""
    out = []
    for _ in range(n):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        out.append(f"{raw[:5]}-{raw[5:]}")
    return out


def normalise_recovery_code(code: str) -> str:
    """Lower-case a recovery code and drop separators a person might type."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_digest(user_id: str, code: str) -> bytes:
    """Return the stored form of a recovery code (bound to its user)."""
    material = f"{user_id}:{normalise_recovery_code(code)}".encode()
    return hashlib.sha256(material).digest()

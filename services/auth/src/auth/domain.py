"""Pure rules of the auth domain: no I/O, no clock reads (callers pass `now`)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

API_KEY_TAG = "at"
API_KEY_PREFIX_LEN = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def normalise_email(email: str) -> str:
    """Return the form e-mail addresses are compared in (trimmed, lower-case)."""
    return email.strip().lower()


def parse_uuid(value: str) -> uuid.UUID | None:
    """Return the UUID in a string, or None when it is not one (so lookups answer 404)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


# --- personal API keys: at_<8-char prefix>_<secret> ----------------------------------


@dataclass(frozen=True)
class NewApiKey:
    """A freshly minted key: the full text (shown once) and what is stored."""

    key: str
    prefix: str
    secret_digest: bytes


def mint_api_key() -> NewApiKey:
    """Return a new API key and its stored parts."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(API_KEY_PREFIX_LEN))
    secret = secrets.token_urlsafe(32)
    return NewApiKey(f"{API_KEY_TAG}_{prefix}_{secret}", prefix, api_key_digest(secret))


def parse_api_key(key: str) -> tuple[str, str] | None:
    """Split a key into (prefix, secret), or None when it is not in our format."""
    head = f"{API_KEY_TAG}_"
    if not key.startswith(head):
        return None
    prefix = key[len(head):len(head) + API_KEY_PREFIX_LEN]
    rest = key[len(head) + API_KEY_PREFIX_LEN:]
    if len(prefix) != API_KEY_PREFIX_LEN or any(c not in _PREFIX_ALPHABET for c in prefix):
        return None
    if not rest.startswith("_") or len(rest) < 17:
        return None
    return prefix, rest[1:]


def api_key_digest(secret: str) -> bytes:
    """Return the stored form of an API key's secret."""
    return hashlib.sha256(secret.encode()).digest()


def api_key_matches(stored: bytes, secret: str) -> bool:
    """Compare a presented secret with the stored digest in constant time."""
    return hmac.compare_digest(stored, api_key_digest(secret))


def api_key_usable(*, revoked_at: datetime | None, expires_at: datetime | None,
                   user_status: str, now: datetime) -> bool:
    """Return whether a key may still authenticate."""
    if revoked_at is not None or user_status != "active":
        return False
    return expires_at is None or now < expires_at


# --- refresh-token rotation -------------------------------------------------------


class RefreshVerdict(StrEnum):
    """What presenting a refresh token means."""

    ROTATE = "rotate"  # valid: spend it and issue the next one
    REUSED = "reused"  # already spent: someone replayed it, revoke the whole family
    EXPIRED = "expired"
    REVOKED = "revoked"  # the session was ended (logout, password change, suspension)
    SUSPENDED = "suspended"


def judge_refresh(*, token_used_at: datetime | None, token_expires_at: datetime,
                  session_revoked_at: datetime | None, user_status: str,
                  now: datetime) -> RefreshVerdict:
    """Decide what to do with a presented refresh token."""
    if session_revoked_at is not None:
        return RefreshVerdict.REVOKED
    if token_used_at is not None:
        return RefreshVerdict.REUSED
    if now >= token_expires_at:
        return RefreshVerdict.EXPIRED
    if user_status != "active":
        return RefreshVerdict.SUSPENDED
    return RefreshVerdict.ROTATE


# --- throttling -------------------------------------------------------------------


def throttle_retry_after(failures: int, limit: int, ttl_s: int) -> int | None:
    """Return seconds to wait when `failures` reached `limit` in the window, else None."""
    if failures < limit:
        return None
    return max(1, ttl_s)


# --- links and admin rules --------------------------------------------------------


def link(base_url: str, path: str, token: str) -> str:
    """Build a link the user follows from a mail (`/verify-email?token=...`)."""
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def may_set_status(actor_id: str, target_id: str) -> bool:
    """Return whether an admin may change this user's status (never their own)."""
    return actor_id != target_id


def page_offset(page: int, page_size: int) -> int:
    """Return the row offset of a 1-based page."""
    return (page - 1) * page_size


_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def audit_entry_id(event_id: str) -> str:
    """Return an audit row id: the event id when it is a safe Id, else a UUID derived from it."""
    if _SAFE_ID.fullmatch(event_id):
        return event_id
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"audit:{event_id}"))


def like_pattern(q: str) -> str:
    """Return an ILIKE pattern matching `q` literally anywhere."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""Dhan's error codes grouped into named sets (API.md §6), and the mapping to adapter errors."""

from __future__ import annotations

from ..base import (
    BrokerAuthFailed,
    BrokerError,
    BrokerRejected,
    BrokerRetryable,
    BrokerUnknownOutcome,
)

AUTHENTICATION_CODES = frozenset({"DH-901"})
"""The token is invalid or expired: never retried, the account needs a new login."""

RETRYABLE_CODES = frozenset({"DH-904", "DH-908", "DH-909"})
"""Rate limit, internal error, backend unreachable: the same request may work later."""

REJECTED_CODES = frozenset({"DH-902", "DH-903", "DH-905", "DH-906", "DH-907", "DH-910",
                            "DH-911", "DH-1111"})
"""Access, account, input, order, data and IP errors: the request is wrong as sent."""

FEED_REAUTH_CODES = frozenset({807, 808, 809, 810})
"""Websocket disconnect codes that mean 're-authenticate' (API.md §6.2)."""

_AUTH_MESSAGES = ("invalid token", "token is invalid", "expired")


def classify(status: int, body: object, *, idempotent: bool) -> BrokerError:
    """Turn an HTTP error answer into the adapter error it means."""
    code, message = "", f"HTTP {status}"
    if isinstance(body, dict):
        code = str(body.get("errorCode") or "")
        message = str(body.get("errorMessage") or body.get("message") or message)
    if code in AUTHENTICATION_CODES or status == 401:
        return BrokerAuthFailed(message, code=code or "DH-901", status=status)
    if code == "DH-906" and any(m in message.lower() for m in _AUTH_MESSAGES[:2]):
        # The sandbox answers a bad token with DH-906 "Invalid Token" (API.md §15.3).
        return BrokerAuthFailed(message, code=code, status=status)
    if status == 429 or code == "DH-904":
        return BrokerRetryable(message, code=code or "DH-904", status=status)
    if status >= 500 and code not in REJECTED_CODES:
        if idempotent:
            return BrokerRetryable(message, code=code, status=status)
        return BrokerUnknownOutcome(message, answered=True, code=code, status=status)
    if code in RETRYABLE_CODES:
        return BrokerRetryable(message, code=code, status=status)
    return BrokerRejected(message, code=code, status=status)

"""The auth service's errors: all are svckit `Rejected` (final) with a fixed, safe message."""

from __future__ import annotations

from contracts.errors import FieldError
from svckit.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed

INVALID_CREDENTIALS = "Invalid email or password"


class InvalidCredentials(Unauthorized):
    """Wrong e-mail or password (never says which)."""

    def __init__(self) -> None:
        super().__init__(INVALID_CREDENTIALS)


class InvalidToken(Unauthorized):
    """A refresh, challenge or API key token is unknown, spent, expired or revoked."""


class AccountSuspended(Forbidden):
    """The account is suspended."""

    def __init__(self) -> None:
        super().__init__("This account is suspended")


class TooManyAttempts(RateLimited):
    """Too many failed attempts; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed attempts; try again later", retry_after_s=retry_after_s)


class EmailTaken(Conflict):
    """The e-mail address is already registered."""

    def __init__(self) -> None:
        super().__init__("An account with this email already exists")


class UserNotFound(NotFound):
    """No such user."""

    def __init__(self) -> None:
        super().__init__("User not found")


class ApiKeyNotFound(NotFound):
    """No such API key (or not the caller's)."""

    def __init__(self) -> None:
        super().__init__("API key not found")


def invalid_field(field: str, message: str) -> ValidationFailed:
    """Return a validation error about one field."""
    return ValidationFailed(details=[FieldError(field=field, message=message)])


__all__ = [
    "AccountSuspended", "ApiKeyNotFound", "Conflict", "EmailTaken", "Forbidden",
    "InvalidCredentials", "InvalidToken", "NotFound", "TooManyAttempts", "UserNotFound",
    "invalid_field",
]

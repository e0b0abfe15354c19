"""The root service exceptions: rejected (the caller's fault, final) or retryable.

Request/reply handlers raise these; svckit turns them into the §6 error body plus the
`Nats-Service-Error` headers. Stream consumers turn `Retryable` into a delayed NAK and
`Rejected` into a TERM.
"""

from __future__ import annotations

from typing import Any

from contracts.errors import ApiError, ErrorCode, FieldError


class ServiceError(Exception):
    """Root of every error a service raises on purpose."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        message: str | None = None,
        details: list[FieldError] | dict[str, Any] | None = None,
        *,
        code: ErrorCode | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.api_error = ApiError.of(self.code, message, details)
        super().__init__(self.api_error.message)


class Rejected(ServiceError):
    """The request can never succeed as sent; do not retry."""

    code = ErrorCode.VALIDATION_ERROR


class Retryable(ServiceError):
    """A transient failure; the same request may succeed later."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str | None = None, *, delay_s: float = 1.0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.delay_s = delay_s


class ValidationFailed(Rejected):
    code = ErrorCode.VALIDATION_ERROR


class Unauthorized(Rejected):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(Rejected):
    code = ErrorCode.FORBIDDEN


class NotFound(Rejected):
    code = ErrorCode.NOT_FOUND


class Conflict(Rejected):
    code = ErrorCode.CONFLICT


class RateLimited(Rejected):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str | None = None, *, retry_after_s: int = 1, **kw: Any) -> None:
        details = kw.pop("details", None) or {"retryAfter": retry_after_s}
        super().__init__(message, details, **kw)
        self.retry_after_s = retry_after_s


class Unavailable(Retryable):
    code = ErrorCode.SERVICE_UNAVAILABLE


class BrokerageFailed(ServiceError):
    code = ErrorCode.BROKERAGE_ERROR


class RemoteError(ServiceError):
    """Another service answered a request with an error body."""

    def __init__(self, api_error: ApiError) -> None:
        self.code = api_error.error
        self.api_error = api_error
        Exception.__init__(self, api_error.message)

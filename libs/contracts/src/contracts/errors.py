"""The API error shape and codes (ARCHITECTURE.md §6), shared by HTTP and NATS replies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorCode(StrEnum):
    """Machine-readable error codes; each maps to one HTTP status."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    BROKERAGE_ERROR = "BROKERAGE_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    INTERNAL_ERROR = "INTERNAL_ERROR"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.BROKERAGE_ERROR: 502,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.EXECUTION_ERROR: 500,
    ErrorCode.INTERNAL_ERROR: 500,
}

DEFAULT_MESSAGE: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "Invalid input data",
    ErrorCode.UNAUTHORIZED: "Authentication required",
    ErrorCode.FORBIDDEN: "You are not allowed to do this",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.CONFLICT: "Conflicts with the current state",
    ErrorCode.PAYLOAD_TOO_LARGE: "Request body too large",
    ErrorCode.RATE_LIMITED: "Too many requests",
    ErrorCode.BROKERAGE_ERROR: "The broker refused or failed the request",
    ErrorCode.SERVICE_UNAVAILABLE: "Service temporarily unavailable",
    ErrorCode.EXECUTION_ERROR: "Strategy execution failed",
    ErrorCode.INTERNAL_ERROR: "Internal error",
}


class FieldError(BaseModel):
    """One problem with one input field."""

    model_config = ConfigDict(extra="ignore")

    field: str
    message: str


class ApiError(BaseModel):
    """The one error body every API and every NATS reply uses."""

    model_config = ConfigDict(extra="ignore")

    error: ErrorCode
    message: str
    code: int = Field(description="HTTP status that goes with `error`")
    details: list[FieldError] | dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        error: ErrorCode,
        message: str | None = None,
        details: list[FieldError] | dict[str, Any] | None = None,
    ) -> ApiError:
        """Build an error with the status and default message of its code."""
        return cls(
            error=error,
            message=message or DEFAULT_MESSAGE[error],
            code=HTTP_STATUS[error],
            details=details,
        )

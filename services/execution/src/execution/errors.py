"""The execution service's root error, split into rejected and retryable (STYLE.md 7)."""

from __future__ import annotations

from svckit.errors import Rejected, Retryable, ServiceError


class ExecutionError(ServiceError):
    """Root of every error the execution service raises on purpose."""


class DeploymentRejected(ExecutionError, Rejected):
    """A deploy request cannot be accepted as sent (field errors in `details`)."""


class EngineRetryable(ExecutionError, Retryable):
    """A transient failure inside the engine; the message is redelivered."""

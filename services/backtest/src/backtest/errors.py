"""Errors of the backtest service: rejected (final) or retryable, as svckit defines them."""

from __future__ import annotations

from svckit.errors import Conflict, NotFound, Rejected, Retryable, ValidationFailed


class BacktestError(Rejected):
    """A backtest that cannot run as asked (bad rule, no data, no cost table for its dates)."""


class HistoryUnavailable(Retryable):
    """History could not be fetched now; the job is retried later."""


__all__ = ["BacktestError", "Conflict", "HistoryUnavailable", "NotFound", "Rejected",
           "Retryable", "ValidationFailed"]

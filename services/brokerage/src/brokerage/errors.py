"""The brokerage's own exceptions, on top of svckit's rejected/retryable roots."""

from __future__ import annotations

from svckit.errors import BrokerageFailed, Conflict, NotFound, Rejected, Retryable


class AccountNotFound(NotFound):
    """The account does not exist or belongs to someone else (both answer 404)."""

    def __init__(self) -> None:
        super().__init__("Brokerage account not found")


class OrderNotFound(NotFound):
    """The order does not exist or belongs to someone else."""

    def __init__(self) -> None:
        super().__init__("Order not found")


class AccountNotTradable(Conflict):
    """The account cannot take orders now (reauth needed, inactive, kill switch)."""


class BrokerRefused(BrokerageFailed):
    """The broker answered with an error the user should see."""


class TryLater(Retryable):
    """A transient condition; the intent is redelivered later."""


__all__ = ["AccountNotFound", "AccountNotTradable", "BrokerRefused", "OrderNotFound",
           "Rejected", "TryLater"]

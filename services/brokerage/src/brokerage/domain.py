"""Pure order rules: the state machine driven by broker updates, staleness, money units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from contracts.events import orders as ev
from contracts.orders import TERMINAL_STATUSES, OrderStatus

S = OrderStatus

BROKER_STATUS: dict[str, OrderStatus] = {
    "TRANSIT": S.PLACED, "PENDING": S.ACCEPTED, "TRIGGERED": S.ACCEPTED, "CONFIRM": S.ACCEPTED,
    "PART_TRADED": S.PARTIALLY_FILLED, "TRADED": S.FILLED, "CLOSED": S.FILLED,
    "REJECTED": S.REJECTED, "CANCELLED": S.CANCELLED, "EXPIRED": S.EXPIRED,
}
"""Dhan's order statuses (API.md §4.3) in the platform's words."""

RANK: dict[OrderStatus, int] = {
    S.RECEIVED: 0, S.SENDING: 1, S.PLACED: 2, S.ACCEPTED: 3, S.PARTIALLY_FILLED: 4,
    **{s: 9 for s in TERMINAL_STATUSES},
}

EVENT_FOR: dict[OrderStatus, type[ev.OrderEvent]] = {
    S.PLACED: ev.OrderPlaced, S.ACCEPTED: ev.OrderAccepted,
    S.PARTIALLY_FILLED: ev.OrderPartiallyFilled, S.FILLED: ev.OrderFilled,
    S.CANCELLED: ev.OrderCancelled, S.REJECTED: ev.OrderRejected, S.EXPIRED: ev.OrderExpired,
    S.FAILED: ev.OrderFailed, S.STALE: ev.OrderStale,
}

OPEN_STATUSES = frozenset({S.RECEIVED, S.SENDING, S.PLACED, S.ACCEPTED, S.PARTIALLY_FILLED})
UNKNOWN_STATUSES = frozenset({S.SENDING})


@dataclass(frozen=True)
class OrderState:
    """What the state machine needs to know about a stored order."""

    status: OrderStatus
    quantity: int
    filled: int = 0
    average_price: Decimal | None = None


@dataclass(frozen=True)
class Transition:
    """The stored order after one broker update, and the event it causes."""

    status: OrderStatus
    filled: int
    average_price: Decimal | None
    last_fill_quantity: int
    reason: str | None
    event: type[ev.OrderEvent]


def apply_update(state: OrderState, broker_status: str, filled: int,
                 average_price: Decimal | None, reason: str | None = None) -> Transition | None:
    """Return the transition a broker report causes, or None when it changes nothing.

    Terminal states are final; states never move backwards (a late TRANSIT after PENDING is
    ignored); fills only grow. A fill seen together with a non-terminal status decides
    between partially filled and filled by quantity.
    """
    if state.status in TERMINAL_STATUSES:
        return None
    target = BROKER_STATUS.get(broker_status.upper().replace(" ", "_"))
    if target is None:
        return None
    new_filled = max(state.filled, min(filled, state.quantity))
    if target not in TERMINAL_STATUSES:
        if new_filled >= state.quantity:
            target = S.FILLED
        elif new_filled > 0:
            target = S.PARTIALLY_FILLED
        if RANK[target] < RANK[state.status]:
            target = state.status
    elif target is S.FILLED:
        new_filled = state.quantity
    fill_delta = new_filled - state.filled
    if target == state.status and fill_delta == 0:
        return None
    avg = average_price if average_price is not None and new_filled else state.average_price
    return Transition(target, new_filled, avg, fill_delta,
                      reason if target in (S.REJECTED, S.CANCELLED, S.EXPIRED) else None,
                      EVENT_FOR[target])


def is_stale(intent_ts: datetime, now: datetime, bound_s: float) -> bool:
    """Tell whether an intent made at `intent_ts` is too old to send at business time `now`."""
    return (now - intent_ts).total_seconds() > bound_s


def to_paise(amount: Decimal | None) -> int | None:
    """Convert rupees to integer paise (half-even), keeping None."""
    if amount is None:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_paise(paise: int | None) -> Decimal | None:
    """Convert integer paise to rupees, keeping None."""
    return None if paise is None else (Decimal(paise) / 100)


def can_resend(sent_age_s: float | None, settle_s: float, answered: bool) -> bool:
    """Tell whether 'not found by correlation id' can be trusted enough to send again.

    After a 5xx answer the broker has finished with the request, so its absence is real.
    After no answer at all (timeout, dropped connection, crash) the request may still be
    in flight, so wait until `settle_s` has passed since it was sent.
    """
    return answered or sent_age_s is None or sent_age_s >= settle_s

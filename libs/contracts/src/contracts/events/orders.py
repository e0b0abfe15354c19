"""Order intents (`ord.intent.<accountId>`, stream ORDERS) and the brokerage's user events.

Order events go to `evt.<userId>.order.<name>`, account events to
`evt.<userId>.account.<name>`; the names are in `ORDER_EVENT_NAMES` / `ACCOUNT_EVENT_NAMES`.
Money and prices are integer paise.
"""

from __future__ import annotations

from datetime import datetime

from .base import Event

ORDER_DOMAIN = "order"
ACCOUNT_DOMAIN = "account"


class OrderIntent(Event, kw_only=True):
    """Execution wants one order placed; published with Nats-Msg-Id = intent_id.

    `intent_id` is deterministic (`contracts.orders.make_intent_id(deployment, bar time,
    leg)`), at most 25 characters of `[A-Za-z0-9_-]`, and becomes Dhan's correlationId.
    `ts_event` is the business time the intent was made; brokerage refuses it as stale when
    its clock is past `ts_event` + the configured bound.
    """

    intent_id: str
    user_id: str
    account_id: str
    deployment_id: str | None = None
    security_id: str
    exchange_segment: str
    transaction_type: str  # BUY | SELL
    quantity: int
    order_type: str  # MARKET | LIMIT | STOP_LOSS | STOP_LOSS_MARKET
    product_type: str  # CNC | INTRADAY | MARGIN | MTF
    validity: str = "DAY"
    price: int | None = None  # paise
    trigger_price: int | None = None  # paise
    tag: str | None = None


class OrderEvent(Event, kw_only=True):
    """Fields every order event carries: the order as it stands after the change."""

    order_id: str
    intent_id: str
    user_id: str
    account_id: str
    deployment_id: str | None = None
    broker_order_id: str | None = None
    security_id: str
    exchange_segment: str
    transaction_type: str
    product_type: str = ""
    order_type: str = ""
    quantity: int
    filled_quantity: int = 0
    average_price: int | None = None  # paise
    last_fill_quantity: int = 0
    last_fill_price: int | None = None  # paise
    status: str
    reason: str | None = None
    tag: str | None = None


class OrderPlaced(OrderEvent, kw_only=True):
    """The broker acknowledged the order."""


class OrderAccepted(OrderEvent, kw_only=True):
    """The order rests at the exchange."""


class OrderPartiallyFilled(OrderEvent, kw_only=True):
    """Part of the order traded."""


class OrderFilled(OrderEvent, kw_only=True):
    """The whole order traded."""


class OrderCancelled(OrderEvent, kw_only=True):
    """The order was cancelled (by the user, the kill switch or IOC)."""


class OrderRejected(OrderEvent, kw_only=True):
    """The broker or exchange refused the order."""


class OrderExpired(OrderEvent, kw_only=True):
    """The order's validity ended."""


class OrderFailed(OrderEvent, kw_only=True):
    """The order never reached the broker (and never will)."""


class OrderStale(OrderEvent, kw_only=True):
    """The intent arrived too late and was refused without being sent."""


ORDER_EVENT_NAMES: dict[type[OrderEvent], str] = {
    OrderPlaced: "placed",
    OrderAccepted: "accepted",
    OrderPartiallyFilled: "partially_filled",
    OrderFilled: "filled",
    OrderCancelled: "cancelled",
    OrderRejected: "rejected",
    OrderExpired: "expired",
    OrderFailed: "failed",
    OrderStale: "stale",
}


class AccountEvent(Event, kw_only=True):
    """Fields every account event carries."""

    user_id: str
    account_id: str
    broker: str
    status: str
    reason: str | None = None


class AccountLinked(AccountEvent, kw_only=True):
    """A broker or paper account was linked."""


class AccountUnlinked(AccountEvent, kw_only=True):
    """An account was unlinked; its credentials are gone."""


class AccountReauthRequired(AccountEvent, kw_only=True):
    """The broker refused the access token; the user must log in to the broker again."""


class AccountConnectionLost(AccountEvent, kw_only=True):
    """The broker stopped answering (circuit open or socket down)."""


ACCOUNT_EVENT_NAMES: dict[type[AccountEvent], str] = {
    AccountLinked: "linked",
    AccountUnlinked: "unlinked",
    AccountReauthRequired: "reauth_required",
    AccountConnectionLost: "connection_lost",
}


def order_event_name(event: OrderEvent) -> str:
    """Return the subject token of an order event."""
    return ORDER_EVENT_NAMES[type(event)]


def account_event_name(event: AccountEvent) -> str:
    """Return the subject token of an account event."""
    return ACCOUNT_EVENT_NAMES[type(event)]


def intent_age_s(intent: OrderIntent, now: datetime) -> float:
    """Return how old an intent is at business time `now`, in seconds."""
    return (now - intent.ts_event).total_seconds()

"""Events published by the notify service on `evt.<userId>.notification.<created|updated>`.

The gateway forwards them to the user's browser over `/ws`; `updated` follows a grouped
repeat (the count grew), a read or a delete, so a client can keep its list and badge exact.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .base import Event

DOMAIN = "notification"


class NotificationEvent(Event, kw_only=True):
    """The notification as it stands after the change."""

    notification_id: str
    user_id: str
    type: str
    title: str
    message: str
    severity: str
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    link: str | None = None
    is_read: bool = False
    count: int = 1
    deleted: bool = False


class NotificationCreated(NotificationEvent, kw_only=True):
    """A new notification for the user."""


class NotificationUpdated(NotificationEvent, kw_only=True):
    """A notification changed: a grouped repeat, read, or deleted."""


EVENT_NAMES: dict[type[NotificationEvent], str] = {
    NotificationCreated: "created",
    NotificationUpdated: "updated",
}

"""Notifications, channel preferences, webhooks and dead letters (service `notify`).

Subjects are `svc.notify.<resource>.<action>`; every query and command acts for the user in
the `x-user-id` header (admin subjects need the admin role). `HTTP_ROUTES` lists the gateway
rows, so the gateway maps paths to subjects from data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from . import subjects
from .api import ApiModel, ApiReply, Empty, Ok, Page, PageQuery
from .types import Id, UtcDateTime

SERVICE = "notify"

LIST = subjects.svc(SERVICE, "notification", "list")
UNREAD_COUNT = subjects.svc(SERVICE, "notification", "unread_count")
MARK_READ = subjects.svc(SERVICE, "notification", "mark_read")
MARK_ALL_READ = subjects.svc(SERVICE, "notification", "mark_all_read")
DELETE = subjects.svc(SERVICE, "notification", "delete")
GET_PREFERENCES = subjects.svc(SERVICE, "preferences", "get")
UPDATE_PREFERENCES = subjects.svc(SERVICE, "preferences", "update")
CREATE_WEBHOOK = subjects.svc(SERVICE, "webhook", "create")
LIST_WEBHOOKS = subjects.svc(SERVICE, "webhook", "list")
DELETE_WEBHOOK = subjects.svc(SERVICE, "webhook", "delete")
TEST_WEBHOOK = subjects.svc(SERVICE, "webhook", "test")
ADMIN_DEAD_LETTERS = subjects.svc(SERVICE, "admin", "dead_letters")
ADMIN_REPLAY = subjects.svc(SERVICE, "admin", "replay")


class NotificationType(StrEnum):
    """What a notification is about (the seed's types plus the platform's own)."""

    STRATEGY_DEPLOYED = "STRATEGY_DEPLOYED"
    STRATEGY_PAUSED = "STRATEGY_PAUSED"
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_FILLED = "ORDER_FILLED"
    ORDER_FAILED = "ORDER_FAILED"
    PROFIT_TARGET_REACHED = "PROFIT_TARGET_REACHED"
    STOP_LOSS_TRIGGERED = "STOP_LOSS_TRIGGERED"
    MARGIN_WARNING = "MARGIN_WARNING"
    API_CONNECTION_LOST = "API_CONNECTION_LOST"
    REAUTH_REQUIRED = "REAUTH_REQUIRED"
    KILL_SWITCH_ACTIVATED = "KILL_SWITCH_ACTIVATED"
    FEED_STALE = "FEED_STALE"
    BACKTEST_COMPLETED = "BACKTEST_COMPLETED"
    BACKTEST_FAILED = "BACKTEST_FAILED"
    NEW_LOGIN = "NEW_LOGIN"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"
    PASSWORD_RESET = "PASSWORD_RESET"


class Channel(StrEnum):
    """Where a notification can go."""

    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


Severity = Literal["info", "success", "warning", "error", "critical"]
DeliveryStatus = Literal["pending", "sent", "failed", "dead"]


class Notification(ApiReply):
    """One in-app notification; `count` > 1 when repeats were grouped into it."""

    id: Id
    type: NotificationType
    title: str
    message: str
    severity: Severity
    metadata: dict[str, Any] = Field(default_factory=dict)
    link: str | None = None
    is_read: bool = False
    count: int = 1
    created_at: UtcDateTime
    updated_at: UtcDateTime


NotificationPage = Page[Notification]


class ListNotifications(PageQuery):
    """Filter the acting user's notifications (newest first)."""

    type: NotificationType | None = None
    severity: Severity | None = None
    is_read: bool | None = None


class NotificationRef(ApiModel):
    """Name one notification."""

    id: Id


class UnreadCount(ApiReply):
    """How many of the user's notifications are unread."""

    count: int


class MarkedRead(ApiReply):
    """How many notifications a mark-all-read changed."""

    updated: int


class ChannelSwitches(ApiModel):
    """Which channels one notification type goes to (omitted = unchanged)."""

    in_app: bool | None = None
    email: bool | None = None
    sms: bool | None = None
    webhook: bool | None = None


class QuietHours(ApiModel):
    """A daily IST window in which non-critical e-mail, SMS and webhooks wait."""

    enabled: bool = False
    start: str = Field(default="22:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Preferences(ApiReply):
    """Effective channels per type (defaults merged with the user's choices), quiet hours."""

    channels: dict[NotificationType, dict[Channel, bool]]
    quiet_hours: QuietHours
    phone: str | None = None


class UpdatePreferences(ApiModel):
    """Change some switches, the quiet hours or the SMS number."""

    channels: dict[NotificationType, ChannelSwitches] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{8,15}$")


class CreateWebhook(ApiModel):
    """Register an endpoint that receives signed JSON POSTs."""

    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200,
                               description="default: a random secret, returned once")
    description: str = Field(default="", max_length=200)
    types: list[NotificationType] = Field(default_factory=list, description="empty: every type")


class Webhook(ApiReply):
    """A registered webhook (the secret is shown only when it is created)."""

    id: Id
    url: str
    description: str = ""
    types: list[NotificationType] = Field(default_factory=list)
    active: bool = True
    created_at: UtcDateTime
    secret: str | None = None


class WebhookList(ApiReply):
    """The user's webhooks."""

    items: list[Webhook]


class WebhookRef(ApiModel):
    """Name one webhook."""

    id: Id


class WebhookTestResult(ApiReply):
    """What the endpoint answered to a test delivery."""

    ok: bool
    status: int | None = None
    error: str | None = None


class DeadLetter(ApiReply):
    """A delivery that ran out of attempts."""

    id: Id
    notification_id: Id
    user_id: Id
    channel: Channel
    target: str = ""
    attempts: int
    last_error: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


DeadLetterPage = Page[DeadLetter]


class ListDeadLetters(PageQuery):
    """Filter dead letters (admin)."""

    channel: Channel | None = None
    user_id: Id | None = None


class ReplayDeadLetters(ApiModel):
    """Send dead letters again: the named ones, or every one when `ids` is empty."""

    ids: list[Id] = Field(default_factory=list, max_length=1000)


class Replayed(ApiReply):
    """How many dead letters went back to pending."""

    replayed: int


@dataclass(frozen=True)
class Route:
    """One gateway HTTP route served by a notify subject."""

    method: str
    path: str
    subject: str
    request: type[ApiModel]
    response: type[ApiReply]
    auth: str
    status: int = 200
    note: str = ""


HTTP_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/notifications", LIST, ListNotifications, NotificationPage, "user",
          note="query type, severity, isRead, page, pageSize"),
    Route("GET", "/api/notifications/unread-count", UNREAD_COUNT, Empty, UnreadCount, "user"),
    Route("PUT", "/api/notifications/read-all", MARK_ALL_READ, Empty, MarkedRead, "user"),
    Route("GET", "/api/notifications/preferences", GET_PREFERENCES, Empty, Preferences, "user"),
    Route("PUT", "/api/notifications/preferences", UPDATE_PREFERENCES, UpdatePreferences,
          Preferences, "user"),
    Route("GET", "/api/notifications/webhooks", LIST_WEBHOOKS, Empty, WebhookList, "user"),
    Route("POST", "/api/notifications/webhooks", CREATE_WEBHOOK, CreateWebhook, Webhook,
          "verified", 201),
    Route("DELETE", "/api/notifications/webhooks/{id}", DELETE_WEBHOOK, WebhookRef, Ok, "user"),
    Route("POST", "/api/notifications/webhooks/{id}/test", TEST_WEBHOOK, WebhookRef,
          WebhookTestResult, "user"),
    Route("PUT", "/api/notifications/{id}/read", MARK_READ, NotificationRef, Notification, "user"),
    Route("DELETE", "/api/notifications/{id}", DELETE, NotificationRef, Ok, "user"),
    Route("GET", "/api/admin/notifications/dead-letters", ADMIN_DEAD_LETTERS, ListDeadLetters,
          DeadLetterPage, "admin", note="query channel, userId, page, pageSize"),
    Route("POST", "/api/admin/notifications/dead-letters/replay", ADMIN_REPLAY,
          ReplayDeadLetters, Replayed, "admin"),
)

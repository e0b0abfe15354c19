"""Subject -> handler table: each handler is a thin use-case method."""

from __future__ import annotations

from contracts import notify as N
from contracts.api import Empty
from svckit.micro import MicroService

from .service import Admin, Inbox


def register(micro: MicroService, inbox: Inbox, admin: Admin) -> None:
    """Register every subject the notify service answers."""
    table = (
        (N.LIST, N.ListNotifications, inbox.list),
        (N.UNREAD_COUNT, Empty, inbox.unread_count),
        (N.MARK_READ, N.NotificationRef, inbox.mark_read),
        (N.MARK_ALL_READ, Empty, inbox.mark_all_read),
        (N.DELETE, N.NotificationRef, inbox.delete),
        (N.GET_PREFERENCES, Empty, inbox.get_preferences),
        (N.UPDATE_PREFERENCES, N.UpdatePreferences, inbox.update_preferences),
        (N.CREATE_WEBHOOK, N.CreateWebhook, inbox.create_webhook),
        (N.LIST_WEBHOOKS, Empty, inbox.list_webhooks),
        (N.DELETE_WEBHOOK, N.WebhookRef, inbox.delete_webhook),
        (N.TEST_WEBHOOK, N.WebhookRef, inbox.test_webhook),
        (N.ADMIN_DEAD_LETTERS, N.ListDeadLetters, admin.dead_letters),
        (N.ADMIN_REPLAY, N.ReplayDeadLetters, admin.replay),
    )
    for subject, model, handler in table:
        micro.endpoint(subject, model, handler)

"""Request use cases: the user's inbox, preferences and webhooks; the admin's dead letters.

Every query and command is scoped to the acting user (`x-user-id`); another user's
notification or webhook answers 404 as if it did not exist.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import asyncpg
from contracts import notify as N
from contracts.api import Empty, Ok
from contracts.errors import FieldError
from contracts.events.notify import NotificationUpdated
from svckit.clock import Clock
from svckit.context import RequestContext
from svckit.errors import Conflict, NotFound, ValidationFailed

from . import deliverylog
from . import repository as repo
from .ingest import publish_change
from .prefs import UserPrefs, all_channels, merge_overrides
from .settings import NotifySettings
from .webhooks import UnsafeTarget, WebhookSender, check_url

MAX_WEBHOOKS = 10


def to_notification(row: Mapping[str, Any]) -> N.Notification:
    """Map a stored row to the reply model."""
    return N.Notification(id=str(row["id"]), type=row["type"], title=row["title"],
                          message=row["message"], severity=row["severity"],
                          metadata=row["metadata"] or {}, link=row["link"],
                          is_read=row["is_read"], count=row["count"],
                          created_at=row["created_at"], updated_at=row["updated_at"])


def to_webhook(row: Mapping[str, Any], secret: str | None = None) -> N.Webhook:
    """Map a stored webhook to the reply model (the secret only when given)."""
    return N.Webhook(id=str(row["id"]), url=row["url"], description=row["description"],
                     types=list(row["types"] or []), active=row["active"],
                     created_at=row["created_at"], secret=secret)


def to_preferences(p: UserPrefs) -> N.Preferences:
    """Map stored preferences to the reply model (defaults merged in)."""
    return N.Preferences(channels=all_channels(p), phone=p.phone, quiet_hours=N.QuietHours(
        enabled=p.quiet_enabled, start=p.quiet_start, end=p.quiet_end))


class Inbox:
    """The user's notifications, preferences and webhooks."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, s: NotifySettings,
                 webhooks: WebhookSender) -> None:
        self._pool = pool
        self._clock = clock
        self._s = s
        self._webhooks = webhooks

    async def list(self, q: N.ListNotifications, ctx: RequestContext) -> N.NotificationPage:
        """Return one page of the user's notifications, newest first."""
        uid = ctx.require_user()
        # one snapshot for the page and its total, so they never disagree
        async with self._pool.acquire() as conn, \
                conn.transaction(isolation="repeatable_read", readonly=True):
            rows, total = await repo.list_page(
                conn, uid, kind=q.type.value if q.type else None, severity=q.severity,
                is_read=q.is_read, limit=q.page_size, offset=(q.page - 1) * q.page_size)
        return N.NotificationPage(items=[to_notification(r) for r in rows], total=total,
                                  page=q.page, page_size=q.page_size)

    async def unread_count(self, _: Empty, ctx: RequestContext) -> N.UnreadCount:
        """Return how many notifications the user has not read."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            return N.UnreadCount(count=await repo.unread_count(conn, uid))

    async def mark_read(self, ref: N.NotificationRef, ctx: RequestContext) -> N.Notification:
        """Mark one notification read."""
        uid = ctx.require_user()
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.set_read(conn, uid, ref.id, now)
            if row is None:
                raise NotFound("Notification not found")
            await publish_change(conn, row, NotificationUpdated, now)
        return to_notification(row)

    async def mark_all_read(self, _: Empty, ctx: RequestContext) -> N.MarkedRead:
        """Mark every notification of the user read."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            return N.MarkedRead(updated=await repo.set_all_read(conn, uid, self._clock.now()))

    async def delete(self, ref: N.NotificationRef, ctx: RequestContext) -> Ok:
        """Delete one notification from the user's inbox."""
        uid = ctx.require_user()
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.soft_delete(conn, uid, ref.id, now)
            if row is None:
                raise NotFound("Notification not found")
            await publish_change(conn, row, NotificationUpdated, now)
        return Ok()

    async def get_preferences(self, _: Empty, ctx: RequestContext) -> N.Preferences:
        """Return the user's effective channel switches and quiet hours."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            return to_preferences(await repo.get_prefs(conn, uid))

    async def update_preferences(self, req: N.UpdatePreferences,
                                 ctx: RequestContext) -> N.Preferences:
        """Change switches, quiet hours or the SMS number."""
        uid = ctx.require_user()
        changes = {k: v.model_dump() for k, v in req.channels.items()}
        async with self._pool.acquire() as conn, conn.transaction():
            cur = await repo.get_prefs(conn, uid)
            quiet = req.quiet_hours
            new = UserPrefs(
                overrides=merge_overrides(cur.overrides, changes),
                quiet_enabled=quiet.enabled if quiet else cur.quiet_enabled,
                quiet_start=quiet.start if quiet else cur.quiet_start,
                quiet_end=quiet.end if quiet else cur.quiet_end,
                phone=req.phone if "phone" in req.model_fields_set else cur.phone)
            await repo.save_prefs(conn, uid, new)
        return to_preferences(new)

    async def create_webhook(self, req: N.CreateWebhook, ctx: RequestContext) -> N.Webhook:
        """Register a webhook after checking its URL; the secret is returned this once."""
        uid = ctx.require_user()
        try:
            await check_url(req.url, self._s.webhook_allow_private)
        except UnsafeTarget as exc:
            raise ValidationFailed("Webhook URL refused",
                                   [FieldError(field="url", message=str(exc))]) from exc
        secret = req.secret or secrets.token_urlsafe(32)
        async with self._pool.acquire() as conn, conn.transaction():
            if len(await repo.active_webhooks(conn, uid)) >= MAX_WEBHOOKS:
                raise Conflict(f"At most {MAX_WEBHOOKS} webhooks per user")
            row = await repo.insert_webhook(conn, uid, req.url, secret, req.description,
                                            [t.value for t in req.types])
        return to_webhook(row, secret)

    async def list_webhooks(self, _: Empty, ctx: RequestContext) -> N.WebhookList:
        """Return the user's webhooks (without secrets)."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            return N.WebhookList(items=[to_webhook(r) for r in await repo.active_webhooks(conn, uid)])

    async def delete_webhook(self, ref: N.WebhookRef, ctx: RequestContext) -> Ok:
        """Remove one of the user's webhooks."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            if not await repo.deactivate_webhook(conn, uid, ref.id):
                raise NotFound("Webhook not found")
        return Ok()

    async def test_webhook(self, ref: N.WebhookRef, ctx: RequestContext) -> N.WebhookTestResult:
        """Send one signed test POST now and say what the endpoint answered."""
        uid = ctx.require_user()
        async with self._pool.acquire() as conn:
            hook = await repo.get_webhook(conn, uid, ref.id)
        if hook is None:
            raise NotFound("Webhook not found")
        payload = {"id": "test", "type": "TEST", "title": "Test delivery",
                   "message": "Your webhook works.", "severity": "info", "metadata": {},
                   "link": None, "count": 1, "createdAt": self._clock.now().isoformat()}
        try:
            status = await self._webhooks.post(hook["url"], hook["secret"], payload, event="TEST",
                                               delivery_id="test", now=int(time.time()))
        except Exception as exc:  # noqa: BLE001 - the user wants to see why, whatever it was
            return N.WebhookTestResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        return N.WebhookTestResult(ok=200 <= status < 300, status=status)


class Admin:
    """Dead letters: see them and send them again."""

    def __init__(self, pool: asyncpg.Pool, wake: Any) -> None:
        self._pool = pool
        self._wake = wake

    async def dead_letters(self, q: N.ListDeadLetters, ctx: RequestContext) -> N.DeadLetterPage:
        """Return one page of dead deliveries."""
        ctx.require_admin()
        async with self._pool.acquire() as conn, \
                conn.transaction(isolation="repeatable_read", readonly=True):
            rows, total = await deliverylog.dead_letters(
                conn, channel=q.channel.value if q.channel else None, user_id=q.user_id,
                limit=q.page_size, offset=(q.page - 1) * q.page_size)
        items = [N.DeadLetter(**{**dict(r), "id": str(r["id"]),
                                 "notification_id": str(r["notification_id"])}) for r in rows]
        return N.DeadLetterPage(items=items, total=total, page=q.page, page_size=q.page_size)

    async def replay(self, req: N.ReplayDeadLetters, ctx: RequestContext) -> N.Replayed:
        """Put dead letters back in the queue with fresh attempts."""
        ctx.require_admin()
        async with self._pool.acquire() as conn:
            n = await deliverylog.replay(conn, list(req.ids))
        self._wake.set()
        return N.Replayed(replayed=n)

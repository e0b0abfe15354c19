"""The EVENTS consumer: user events in, notifications and planned deliveries out.

One transaction per event holds the inbox row, the contact update, the notification (new or
grouped), its delivery rows and the outbox row of `notification.created|updated`, so a
redelivered event has no second effect and nothing is half-done after a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
from contracts import headers as h
from contracts import subjects
from contracts.events import new_event_fields
from contracts.events.notify import (
    DOMAIN,
    NotificationCreated,
    NotificationEvent,
    NotificationUpdated,
)
from contracts.notify import Channel as C
from contracts.notify import NotificationType as T
from svckit.clock import Clock
from svckit.logging import get_logger
from svckit.outbox import claim, enqueue

from . import deliverylog
from . import repository as repo
from .catalog import ACCOUNT_MAIL_TYPES, Draft, draft_for
from .prefs import UserPrefs, channels_for, hold_until
from .settings import NotifySettings

log = get_logger(__name__)
CONSUMER = "notify-events"
_CONTACT_EVENTS = {"registered", "email_verification_requested", "password_reset_requested"}


def event_message(row: Mapping[str, Any], cls: type[NotificationEvent], now: datetime) -> NotificationEvent:
    """Build the created/updated event of a stored notification row."""
    return cls(**new_event_fields(now=now), notification_id=str(row["id"]),
               user_id=row["user_id"], type=row["type"], title=row["title"],
               message=row["message"], severity=row["severity"], metadata=row["metadata"] or {},
               link=row["link"], is_read=row["is_read"], count=row["count"],
               deleted=row["deleted"])


async def publish_change(conn: asyncpg.Connection, row: Mapping[str, Any],
                         cls: type[NotificationEvent], now: datetime) -> None:
    """Queue `evt.<userId>.notification.<created|updated>` in the caller's transaction."""
    name = "created" if cls is NotificationCreated else "updated"
    await enqueue(conn, subjects.user_event(row["user_id"], DOMAIN, name), event_message(row, cls, now))


def parse_subject(subject: str) -> tuple[str, str] | None:
    """Split `evt.<userId>.<domain>.<event>` (or `mail.`...) into (userId, `domain.event`)."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] not in ("evt", "mail"):
        return None
    return parts[1], f"{parts[2]}.{parts[3]}"


class Ingest:
    """Turn one user event into at most one notification change."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, s: NotifySettings,
                 wake: asyncio.Event) -> None:
        self._pool = pool
        self._clock = clock
        self._s = s
        self._wake = wake

    async def handle(self, subject: str, data: bytes, headers: Mapping[str, str] | None,
                     fallback_id: str) -> str:
        """Process one event; return what happened (for logs and tests)."""
        parsed = parse_subject(subject)
        if parsed is None:
            return "skipped"
        user_id, kind = parsed
        if kind.startswith(DOMAIN + "."):
            return "own"  # our own notification events share the stream: never input
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.warning("event.unreadable", subject=subject)
            return "unreadable"
        if not isinstance(event, dict):
            return "unreadable"
        domain, name = kind.split(".", 1)
        contact = domain == "auth" and name in _CONTACT_EVENTS and bool(event.get("email"))
        draft = draft_for(kind, event)
        if draft is not None and self._too_old(event):
            log.info("event.too_old", kind=kind, ts=event.get("tsInit"))
            draft = None
        if draft is None and not contact:
            log.debug("event.skipped", kind=kind)
            return "skipped"
        msg_id = (headers or {}).get(h.MSG_ID) or str(event.get("eventId") or fallback_id)
        async with self._pool.acquire() as conn, conn.transaction():
            if not await claim(conn, CONSUMER, msg_id):
                return "duplicate"
            if contact:
                await repo.upsert_contact(conn, user_id, str(event["email"]),
                                          str(event.get("name") or ""))
            outcome = "contact"
            if draft is not None:
                outcome = await self._notify(conn, user_id, draft)
        self._wake.set()
        return outcome

    def _too_old(self, event: dict[str, Any]) -> bool:
        """Tell whether an event is older than the replay bound (a first start on old history)."""
        if self._s.max_event_age_s <= 0:
            return False
        try:
            ts = datetime.fromisoformat(str(event.get("tsInit") or event.get("tsEvent")))
        except ValueError:
            return False
        if ts.tzinfo is None:
            return False
        return (self._clock.now() - ts).total_seconds() > self._s.max_event_age_s

    async def _notify(self, conn: asyncpg.Connection, user_id: str, d: Draft) -> str:
        now = self._clock.now()
        prefs = await repo.get_prefs(conn, user_id)
        on = channels_for(prefs, d.type)
        # in-app off for a type: the notification is stored for the other channels, not listed
        visible = on[C.IN_APP] and d.type not in ACCOUNT_MAIL_TYPES
        if d.group_key and visible:
            # two instances handling repeats at once must not both create: serialise per group
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                               f"{user_id}:{d.type.value}:{d.group_key}")
            since = now - timedelta(seconds=self._s.group_window_s)
            prior = await repo.find_group(conn, user_id, d.type.value, d.group_key, since)
            if prior is not None:
                row = await repo.bump(conn, prior["id"], message=d.message, metadata=d.metadata,
                                      now=now)
                await publish_change(conn, row, NotificationUpdated, now)
                return "grouped"
        row = await repo.insert_notification(
            conn, user_id=user_id, kind=d.type.value, title=d.title, message=d.message,
            severity=d.severity, metadata=d.metadata, link=d.link, group_key=d.group_key,
            visible=visible, now=now)
        await self._plan(conn, row, d.type, prefs, on, now)
        if visible:
            await publish_change(conn, row, NotificationCreated, now)
        return "created"

    async def _plan(self, conn: asyncpg.Connection, row: Mapping[str, Any], kind: T,
                    prefs: UserPrefs, on: dict[C, bool], now: datetime) -> None:
        nid, user_id = row["id"], row["user_id"]

        def delay(channel: C) -> float:
            until = hold_until(prefs, kind, channel, now)
            return max(0.0, (until - now).total_seconds()) if until else 0.0

        if row["visible"]:
            # in-app delivery is the stored row plus the outbox event of this transaction
            await deliverylog.add(conn, nid, user_id, C.IN_APP.value, status="sent")
        if on[C.EMAIL]:
            await deliverylog.add(conn, nid, user_id, C.EMAIL.value, delay_s=delay(C.EMAIL))
        if on[C.SMS] and prefs.phone and self._s.sms_url:
            await deliverylog.add(conn, nid, user_id, C.SMS.value, delay_s=delay(C.SMS))
        if on[C.WEBHOOK]:
            for hook in await repo.active_webhooks(conn, user_id):
                if not hook["types"] or kind.value in hook["types"]:
                    await deliverylog.add(conn, nid, user_id, C.WEBHOOK.value, str(hook["id"]),
                                          delay_s=delay(C.WEBHOOK))

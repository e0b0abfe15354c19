"""The delivery worker: lease due deliveries, send them, record the outcome.

A failed attempt is retried with exponential backoff and jitter until it succeeds or runs
out of attempts (then it is a dead letter an admin can replay). A worker that dies holding
a lease leaves the row to be retried when the lease ends. Sends are at-least-once towards
the provider: a crash between the provider's acceptance and our record may send twice,
and the mail's Message-ID / webhook's delivery header carry the delivery id for receivers
that want to drop the copy.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
from contracts import auth as A
from contracts import headers as h
from contracts.notify import Channel as C
from contracts.notify import NotificationType as T
from nats.aio.client import Client
from svckit.errors import ServiceError
from svckit.logging import get_logger
from svckit.nats import request

from . import deliverylog
from . import repository as repo
from .catalog import ACCOUNT_MAIL_TYPES
from .channels import Mailer, SmsProvider, absolute_link, render_email, sms_text
from .settings import NotifySettings
from .webhooks import UnsafeTarget, WebhookSender

log = get_logger(__name__)


class Undeliverable(Exception):
    """This delivery can never succeed as it stands (no address, webhook removed)."""


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Return the delay before the next attempt (exponential, capped, +-20 % jitter)."""
    raw = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return raw * (0.8 + 0.4 * (rng or random).random())


def webhook_payload(d: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Return the JSON body a webhook receives for one notification."""
    return {"id": str(d["notification_id"]), "type": d["type"], "title": d["title"],
            "message": d["message"], "severity": d["severity"], "metadata": d["metadata"] or {},
            "link": absolute_link(base_url, d["link"]), "count": d["count"],
            "createdAt": d["created_at"].isoformat(), "updatedAt": d["updated_at"].isoformat()}


class DeliveryWorker:
    """Send what is due on every channel but in-app (that one is the outbox)."""

    def __init__(self, pool: asyncpg.Pool, nc: Client, s: NotifySettings, mailer: Mailer,
                 sms: SmsProvider, webhooks: WebhookSender, wake: asyncio.Event,
                 unix_now: Any) -> None:
        self._pool = pool
        self._nc = nc
        self._s = s
        self._mailer = mailer
        self._sms = sms
        self._webhooks = webhooks
        self._wake = wake
        self._unix_now = unix_now

    async def run(self) -> None:
        """Deliver until cancelled, woken by new work or by the poll interval."""
        while True:
            try:
                busy = await self.run_once()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("delivery.loop_failed", error=str(exc))
                busy = False
            if busy:
                continue
            self._wake.clear()
            try:
                async with asyncio.timeout(self._s.delivery_poll_s):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def run_once(self) -> bool:
        """Send one batch of due deliveries; return True when the batch was full."""
        rows = await deliverylog.claim_due(self._pool, self._s.delivery_batch,
                                           self._s.delivery_lease_s)
        if rows:
            await asyncio.gather(*(self._deliver(dict(r)) for r in rows))
        return len(rows) == self._s.delivery_batch

    async def _deliver(self, d: dict[str, Any]) -> None:
        try:
            await self._send(d)
        except Undeliverable as exc:
            log.warning("delivery.dead", delivery_id=str(d["id"]), channel=d["channel"],
                        error=str(exc))
            await deliverylog.mark_failed(self._pool, d["id"], str(exc), None)
            return
        except Exception as exc:  # noqa: BLE001 - any provider error is one failed attempt
            error = f"{type(exc).__name__}: {exc}"
            retry = None if d["attempts"] >= self._s.max_attempts else \
                backoff_s(d["attempts"], self._s.retry_base_s, self._s.retry_max_s)
            log.warning("delivery.failed", delivery_id=str(d["id"]), channel=d["channel"],
                        attempts=d["attempts"], retry_in_s=retry, error=error)
            await deliverylog.mark_failed(self._pool, d["id"], error, retry)
            return
        await deliverylog.mark_sent(self._pool, d["id"])
        if d["type"] in {t.value for t in ACCOUNT_MAIL_TYPES}:
            await deliverylog.redact_account_mail(self._pool, d["notification_id"])
        log.info("delivery.sent", delivery_id=str(d["id"]), channel=d["channel"],
                 attempts=d["attempts"])

    async def _send(self, d: dict[str, Any]) -> None:
        channel = C(d["channel"])
        if channel is C.EMAIL:
            to, name = await self._contact(d["user_id"])
            await self._mailer.send(render_email(self._s, to, name, d, str(d["id"])))
        elif channel is C.SMS:
            async with self._pool.acquire() as conn:
                prefs = await repo.get_prefs(conn, d["user_id"])
            if not prefs.phone:
                raise Undeliverable("the SMS number was removed from the preferences")
            await self._sms.send(prefs.phone, sms_text(d))
        elif channel is C.WEBHOOK:
            await self._send_webhook(d)

    async def _send_webhook(self, d: dict[str, Any]) -> None:
        async with self._pool.acquire() as conn:
            hook = await repo.get_webhook(conn, d["user_id"], d["target"])
        if hook is None:
            raise Undeliverable("the webhook was removed")
        try:
            status = await self._webhooks.post(
                hook["url"], hook["secret"], webhook_payload(d, self._s.app_base_url),
                event=T(d["type"]).value, delivery_id=str(d["id"]), now=self._unix_now())
        except UnsafeTarget as exc:
            raise Undeliverable(str(exc)) from exc
        if not 200 <= status < 300:
            raise RuntimeError(f"webhook answered HTTP {status}")

    async def _contact(self, user_id: str) -> tuple[str, str]:
        """Return the user's address: our contact table first, then auth's profile."""
        async with self._pool.acquire() as conn:
            row = await repo.get_contact(conn, user_id)
        if row is not None:
            return row["email"], row["name"]
        profile = await self._profile(user_id)
        email = profile.get("email")
        if not email:
            raise Undeliverable("the user has no e-mail address")
        name = str(profile.get("name") or "")
        async with self._pool.acquire() as conn:
            await repo.upsert_contact(conn, user_id, email, name)
        return email, name

    async def _profile(self, user_id: str) -> dict[str, Any]:
        """Ask auth for the user's profile (acting as that user, as the gateway would)."""
        try:
            profile = await request(self._nc, A.GET_PROFILE, {}, headers={h.USER_ID: user_id},
                                    timeout=self._s.profile_timeout_s)
        except ServiceError as exc:
            raise RuntimeError(f"auth did not give the user's profile: {exc}") from exc
        return profile if isinstance(profile, dict) else {}

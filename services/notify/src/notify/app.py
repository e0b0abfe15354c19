"""build_app(settings): wire NATS, Postgres, the EVENTS consumer, the senders and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from contracts import streams, subjects
from nats.aio.msg import Msg
from svckit import migrations as mig
from svckit.clock import Clock
from svckit.jetstream import consume
from svckit.runner import Runtime

from . import handlers
from .channels import HttpSmsProvider, Mailer, SmsProvider, SmtpMailer
from .delivery import DeliveryWorker
from .ingest import CONSUMER, Ingest
from .service import Admin, Inbox
from .settings import NotifySettings
from .webhooks import WebhookSender

MAIL_CONSUMER = "notify-mail"


def migrations() -> list[mig.Migration]:
    """Return the notify service's own migrations."""
    return mig.load("notify")


@dataclass
class Services:
    """The wired parts (tests reach them through `runtime.services`)."""

    ingest: Ingest
    inbox: Inbox
    admin: Admin
    worker: DeliveryWorker
    wake: asyncio.Event


@contextlib.asynccontextmanager
async def build_app(settings: NotifySettings, *, clock: Clock | None = None,
                    mailer: Mailer | None = None,
                    sms: SmsProvider | None = None) -> AsyncIterator[Runtime]:
    """Open connections, register handlers, start the consumer and the delivery worker.

    `clock`, `mailer` and `sms` replace the runtime's clock and the real senders (tests).
    """
    rt = Runtime(settings, description="Notifications: in-app, e-mail, SMS and webhooks",
                 database=True, migrations=migrations(), outbox=True)
    async with rt:
        assert rt.pool is not None
        business = clock or rt.clock
        wake = asyncio.Event()
        hooks = WebhookSender(settings.webhook_allow_private, settings.webhook_timeout_s)
        sms_provider = sms or HttpSmsProvider(settings)
        ingest = Ingest(rt.pool, business, settings, wake)
        inbox = Inbox(rt.pool, business, settings, hooks)
        admin = Admin(rt.pool, wake)
        worker = DeliveryWorker(rt.pool, rt.nc, settings, mailer or SmtpMailer(settings),
                                sms_provider, hooks, wake, lambda: int(time.time()))
        rt.services = Services(ingest, inbox, admin, worker, wake)  # type: ignore[attr-defined]
        handlers.register(rt.micro, inbox, admin)
        await rt.ensure_stream(streams.EVENTS)
        await rt.ensure_stream(streams.MAIL)
        await rt.start()
        await rt.nc.flush()
        # every user event (`evt.>`; our own notification events are skipped in Ingest), and
        # the mail requests (`mail.>`): the verification and reset links, never on `evt.`
        rt.spawn(_consume(rt, ingest, settings, streams.EVENTS.name, CONSUMER,
                          subjects.user_events_all()))
        rt.spawn(_consume(rt, ingest, settings, streams.MAIL.name, MAIL_CONSUMER,
                          subjects.mail_requests_all()))
        rt.spawn(worker.run())
        try:
            yield rt
        finally:
            await hooks.close()
            if isinstance(sms_provider, HttpSmsProvider):
                await sms_provider.close()


async def _consume(rt: Runtime, ingest: Ingest, s: NotifySettings, stream: str, durable: str,
                   filter_subject: str) -> None:
    """Feed one stream's messages to Ingest (user events, or the mail requests)."""
    async def handle(msg: Msg) -> None:
        meta = msg.metadata
        fallback = f"{meta.stream}:{meta.sequence.stream}" if meta else msg.subject
        await ingest.handle(msg.subject, msg.data, msg.headers, fallback)

    await consume(rt.js, service=s.service_name, stream=stream, durable=durable,
                  filter_subject=filter_subject, handler=handle,
                  # a database outage must delay events, not drop them after a few tries
                  max_deliver=s.event_max_deliver)

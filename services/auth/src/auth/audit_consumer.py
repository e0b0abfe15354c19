"""The AUDIT-stream consumer that fills auth.audit_log (durable `auth-audit`).

It follows svckit.jetstream.consume (ack on success, TERM on Rejected, delayed NAK on
anything else) but owns its pull subscription so that shutdown unsubscribes it: a
subscription left with undelivered messages makes `nc.drain()` wait for its full timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contracts import streams, subjects
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from svckit import jetstream, metrics
from svckit.errors import Rejected, Retryable
from svckit.logging import get_logger

log = get_logger(__name__)
DURABLE = "auth-audit"


async def run(js: JetStreamContext, handler: Callable[[Msg], Awaitable[None]],
              batch: int = 50) -> None:
    """Pull audit events and store them until cancelled."""
    config = ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=30,
                            max_deliver=20, filter_subject=subjects.audit_all(),
                            deliver_policy=DeliverPolicy.ALL)
    sub = await js.pull_subscribe(subjects.audit_all(), durable=DURABLE,
                                  stream=streams.AUDIT.name, config=config)
    try:
        while True:
            msgs = await jetstream.fetch(sub, batch)
            for msg in msgs:
                await _handle(handler, msg)
    finally:
        try:
            await sub.unsubscribe()
        except (NatsError, OSError) as exc:  # the connection may be closing; nothing to keep
            log.debug("audit.unsubscribe_failed", error=repr(exc))


async def _handle(handler: Callable[[Msg], Awaitable[None]], msg: Msg) -> None:
    outcome = "ack"
    try:
        await handler(msg)
        await msg.ack()
    except Rejected as exc:
        outcome = "term"
        log.warning("message.rejected", subject=msg.subject, error=str(exc))
        await msg.term()
    except Retryable as exc:
        outcome = "nak"
        await msg.nak(delay=exc.delay_s)
    except asyncio.CancelledError:
        await msg.nak()
        raise
    except Exception:
        outcome = "error"
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        log.exception("message.failed", subject=msg.subject, deliveries=deliveries)
        await msg.nak(delay=min(30.0, 0.5 * 2 ** min(deliveries, 6)))
    finally:
        metrics.MESSAGES.labels("auth", streams.AUDIT.name, DURABLE, outcome).inc()

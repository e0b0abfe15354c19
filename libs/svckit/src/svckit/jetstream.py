"""JetStream stream and consumer helpers.

The owner of a stream declares it from its `StreamSpec`; consumers attach with durable
names and a pull loop that maps handler outcomes: success acks, `Retryable` NAKs with a
delay, `Rejected` TERMs, anything else NAKs with backoff until `max_deliver`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.streams import Retention, StreamSpec
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from . import metrics, tracing
from .errors import Rejected, Retryable
from .logging import get_logger

log = get_logger(__name__)
MsgHandler = Callable[[Msg], Awaitable[None]]


def stream_config(spec: StreamSpec, replicas: int | None = None) -> StreamConfig:
    """Translate a contracts StreamSpec into a nats-py StreamConfig."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.WORK_QUEUE if spec.retention is Retention.WORK_QUEUE
        else RetentionPolicy.LIMITS,
        max_age=spec.max_age_s,
        max_bytes=spec.max_bytes,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=replicas or spec.replicas,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW if spec.discard_new else DiscardPolicy.OLD,
        description=spec.description,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int | None = None) -> None:
    """Create the stream, or bring an existing one to the spec."""
    config = stream_config(spec, replicas)
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream.created", stream=spec.name)
        return
    await js.update_stream(config)


async def fetch(sub: JetStreamContext.PullSubscription, batch: int,
                timeout: float = 1.0) -> list[Msg]:
    """Fetch up to `batch` messages from a pull subscription; [] when none came in time.

    nats-py reports "none in time" as its own TimeoutError, or as asyncio's when its no-wait
    probe used up the deadline (a loop catching only the first crashed on the second, which a
    busy start makes likely). It can also turn the caller's cancellation into a timeout: that
    is raised as CancelledError.
    """
    try:
        return await sub.fetch(batch, timeout=timeout)
    except TimeoutError:  # nats.errors.TimeoutError is one too
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None
        return []


async def consume(
    js: JetStreamContext,
    *,
    service: str,
    stream: str,
    durable: str,
    filter_subject: str,
    handler: MsgHandler,
    batch: int = 50,
    ack_wait_s: float = 30.0,
    max_deliver: int = 20,
    deliver_new: bool = False,
    ordered_by: Callable[[Msg], str] | None = None,
) -> None:
    """Pull from a durable consumer and handle messages until cancelled.

    Without `ordered_by` the messages of a batch are handled one after the other. With it,
    a batch is split by that key: messages of one key keep their order, different keys are
    handled concurrently (e.g. one order intent at a time per account, accounts in parallel).
    """
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        filter_subject=filter_subject,
        deliver_policy=DeliverPolicy.NEW if deliver_new else DeliverPolicy.ALL,
    )
    sub = await js.pull_subscribe(filter_subject, durable=durable, stream=stream, config=config)
    lag = _LagGauge(service, durable, sub)
    try:
        while True:
            await lag.maybe_update()
            msgs = await fetch(sub, batch)
            if ordered_by is None or len(msgs) == 1:
                for msg in msgs:
                    await _handle_one(service, stream, durable, handler, msg)
                continue
            lanes: dict[str, list[Msg]] = {}
            for msg in msgs:
                lanes.setdefault(ordered_by(msg), []).append(msg)

            async def lane(items: list[Msg]) -> None:
                for item in items:
                    await _handle_one(service, stream, durable, handler, item)

            # _handle_one never raises but for cancellation, which gather passes on
            await asyncio.gather(*(lane(items) for items in lanes.values()))
    finally:
        # without this, draining the connection waits out its timeout on our pull inbox
        try:
            await sub.unsubscribe()
        except Exception:  # the connection may already be closed; nothing left to release
            pass


class _LagGauge:
    """Keep `svc_consumer_pending{service,consumer}` current, at most every `every_s`."""

    def __init__(self, service: str, durable: str, sub: Any, every_s: float = 5.0) -> None:
        self._gauge = metrics.CONSUMER_PENDING.labels(service, durable)
        self._sub = sub
        self._every = every_s
        self._next = 0.0

    async def maybe_update(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        try:
            info = await self._sub.consumer_info()
        except (NatsTimeout, TimeoutError, NatsError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # nats-py can turn a cancellation into a timeout: never swallow it
                raise asyncio.CancelledError from None
            log.debug("consumer.info_failed", error=str(exc))
            return
        self._gauge.set((info.num_pending or 0) + (info.num_ack_pending or 0))


async def _handle_one(service: str, stream: str, durable: str, handler: MsgHandler, msg: Msg) -> None:
    started = time.perf_counter()
    outcome = "ack"
    try:
        with tracing.span_from_headers(msg.subject, msg.headers):
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
        metrics.MESSAGES.labels(service, stream, durable, outcome).inc()
        metrics.MESSAGE_LATENCY.labels(service, durable).observe(time.perf_counter() - started)

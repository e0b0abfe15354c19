"""Pull-consumer fetches that always honour a cancel.

nats-py's `fetch` can turn a task cancel into a timeout, or lose it inside `wait_for` when a
message arrives at the same moment; a loop that just retries then never stops and shutdown
hangs. These helpers check the task's pending cancel around every fetch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from svckit import jetstream
from svckit.logging import get_logger

log = get_logger(__name__)


def cancel_requested() -> bool:
    """Return whether someone asked the current task to stop."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def fetch(sub: JetStreamContext.PullSubscription, batch: int,
                timeout: float = 1.0) -> list[Msg]:
    """Fetch up to `batch` messages (none on timeout); raise CancelledError when stopping."""
    if cancel_requested():
        raise asyncio.CancelledError
    msgs = await jetstream.fetch(sub, batch, timeout)
    if cancel_requested():
        for msg in msgs:  # not started: hand them straight back
            await msg.nak()
        raise asyncio.CancelledError
    return msgs


async def close(sub: JetStreamContext.PullSubscription) -> None:
    """Drop the fetch inbox (the durable consumer stays), so draining NATS need not wait on it."""
    try:
        await asyncio.shield(sub.unsubscribe())
    except (NatsError, asyncio.CancelledError):
        pass  # already closed, or the connection is going away anyway


async def supervise(name: str, loop: Callable[[], Awaitable[None]], delay_s: float = 1.0) -> None:
    """Run a consumer loop, restarting it after a crash (a JetStream API timeout under load)."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("loop.crashed", loop=name)
        await asyncio.sleep(delay_s)  # back off before attaching again

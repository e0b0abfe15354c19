"""Bar and tick subscriptions per instrument, shared by the deployments that trade it.

Bars come from MD_BARS through an ordered consumer that starts at the oldest stream sequence
any of its deployments has not seen yet (each deployment skips bars it already evaluated), so
a restart neither misses nor repeats a bar. Ticks are core-NATS reads of `md.tick.*`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from contracts import streams, subjects
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from .runner import Runner

Key = tuple[str, str, str]  # interval, segment, security id


@dataclass
class Group:
    """The deployments of one instrument and interval, and their subscriptions."""

    key: Key
    runners: dict[str, Runner] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    bar_sub: object | None = None
    tick_sub: object | None = None
    next_seq: int | None = None
    last_bar_end: datetime | None = None
    stale: str | None = None

    @property
    def bar_subject(self) -> str:
        """Return the bar subject of this group."""
        return subjects.bar(*self.key)

    @property
    def tick_subject(self) -> str:
        """Return the tick subject of this group's instrument."""
        return subjects.tick(self.key[1], self.key[2])


async def start_seq(js: JetStreamContext, group: Group, runner: Runner) -> int | None:
    """Return the first stream sequence a runner must see (None: everything there is)."""
    seq = runner.row.get("last_bar_seq")
    if seq:
        return int(seq) + 1
    try:
        last = await js.get_last_msg(streams.MD_BARS.name, group.bar_subject)
    except NotFoundError:
        return None
    return last.seq


async def subscribe_bars(js: JetStreamContext, group: Group, seq: int | None,
                         on_bar: Callable[[Group, Msg], Awaitable[None]]) -> None:
    """(Re)start the group's ordered bar consumer at `seq`."""
    if group.bar_sub is not None:
        with contextlib.suppress(Exception):
            await group.bar_sub.unsubscribe()  # type: ignore[attr-defined]
    if seq is None:
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    else:
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=seq)

    async def cb(msg: Msg) -> None:
        await on_bar(group, msg)

    group.bar_sub = await js.subscribe(group.bar_subject, stream=streams.MD_BARS.name, cb=cb,
                                       ordered_consumer=True, config=cfg)
    group.next_seq = seq


async def subscribe_ticks(nc: Client, group: Group,
                          on_tick: Callable[[Group, Msg], Awaitable[None]]) -> None:
    """Follow the instrument's ticks for stop-loss and target."""
    if group.tick_sub is not None:
        return

    async def cb(msg: Msg) -> None:
        await on_tick(group, msg)

    group.tick_sub = await nc.subscribe(group.tick_subject, cb=cb)


async def close(group: Group) -> None:
    """Stop both subscriptions."""
    for sub in (group.bar_sub, group.tick_sub):
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]
    group.bar_sub = group.tick_sub = None

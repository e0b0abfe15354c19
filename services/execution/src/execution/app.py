"""build_app(settings): wire NATS, Postgres, the engine, the handlers and the consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import msgspec
from contracts import streams, subjects
from contracts.events.orders import OrderEvent
from nats.aio.msg import Msg
from svckit import migrations as mig
from svckit import outbox
from svckit.clock import Clock
from svckit.jetstream import consume
from svckit.logging import get_logger
from svckit.outbox import OutboxRelay
from svckit.runner import Runtime

from . import fills, handlers
from .clients import Clients
from .deployments import DEPLOY_CHANNEL, Deployments
from .engine import Engine
from .ledger import Outgoing
from .settings import ExecutionSettings
from .state import load_trades

log = get_logger(__name__)


def migrations() -> list[mig.Migration]:
    """Return the execution service's own migrations."""
    return mig.load("execution")


@contextlib.asynccontextmanager
async def build_app(settings: ExecutionSettings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Open connections, register handlers, start the engine and consumers; close on exit.

    `clock` replaces the business clock (tests replay a past trading day with a fixed clock).
    """
    rt = Runtime(settings, description="Deployments, live rule evaluation, risk, order intents",
                 database=True, migrations=migrations())
    async with rt:
        if clock is not None:
            rt.clock = clock
        clients = Clients(rt.nc, settings.request_timeout_s)
        engine = Engine(rt, settings, clients)
        deployments = Deployments(rt.pool, rt.js, clients, rt.clock)
        rt.engine = engine  # type: ignore[attr-defined]
        rt.deployments = deployments  # type: ignore[attr-defined]
        handlers.register(rt.micro, deployments)
        await rt.ensure_stream(streams.ORDERS)
        await rt.ensure_stream(streams.EVENTS)
        await rt.start()
        rt.spawn(_relay(rt))
        rt.spawn(engine.run())
        rt.spawn(engine.timers())
        rt.spawn(_listen(rt, engine))
        rt.spawn(_consume_orders(rt, engine))
        for event in ("stale", "recovered"):
            await rt.nc.subscribe(subjects.feed_status(event), cb=engine.feed_status)
        yield rt


async def _relay(rt: Runtime) -> None:
    """Publish outbox rows the fast path did not (svckit's relay, with a cancel-safe listener).

    Rows younger than `outbox_grace_s` are the fast path's; it marks them once published."""
    relay = OutboxRelay(rt.pool, rt.js, rt.settings.service_name,
                        min_age_s=rt.settings.outbox_grace_s)
    wake = asyncio.Event()
    async with rt.pool.acquire() as conn:
        def on_notify(*_: object) -> None:
            wake.set()

        await conn.add_listener(outbox.CHANNEL, on_notify)
        try:
            while True:
                try:
                    more = await relay.relay_once()
                except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                    log.warning("outbox.relay_failed", error=str(exc))
                    more = False
                if more:
                    continue
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await wake.wait()
        finally:
            await conn.remove_listener(outbox.CHANNEL, on_notify)


async def _listen(rt: Runtime, engine: Engine) -> None:
    """React to fills (reload positions) and deployment changes (claim, pause, stop) at once."""
    async with rt.pool.acquire() as conn:
        await _listen_on(rt, engine, conn)


async def _listen_on(rt: Runtime, engine: Engine, conn) -> None:
    pending: set[asyncio.Task] = set()

    def spawn(coro) -> None:
        task = asyncio.create_task(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def refill(runner) -> None:
        # under the instrument's lock: a bar decided meanwhile would otherwise have its new
        # trade (or an exit under way) replaced by the table as it was read before its commit
        group = engine.group_of(runner)
        async with group.lock if group is not None else contextlib.nullcontext():
            if engine.runners.get(runner.id) is not runner:
                return  # dropped (or replaced) while it waited
            await load_trades(rt.pool, runner, rt.clock.now())
            due = runner.exits_due()  # an exit that waited for its entry's fill goes out now
            if due:
                await engine.commit([(runner, dec) for dec in due], None)

    def on_fill(_c, _pid, _ch, dep_id: str) -> None:
        runner = engine.runners.get(dep_id)
        if runner is not None:
            spawn(refill(runner))
        elif engine.by_account:  # maybe one of our accounts, traded on another replica
            engine.pnl_changed_elsewhere()

    def on_deploy(_c, _pid, _ch, dep_id: str) -> None:
        spawn(_refresh(engine, dep_id))

    try:
        await conn.add_listener(fills.FILLS_CHANNEL, on_fill)
        await conn.add_listener(DEPLOY_CHANNEL, on_deploy)
        await asyncio.Event().wait()
    finally:
        for task in pending:
            task.cancel()
        await conn.remove_listener(fills.FILLS_CHANNEL, on_fill)
        await conn.remove_listener(DEPLOY_CHANNEL, on_deploy)


async def _refresh(engine: Engine, dep_id: str) -> None:
    """Apply a deployment's new status to its runner, or wake the claim loop for a new one."""
    runner = engine.runners.get(dep_id)
    if runner is None:
        engine.wake.set()
        return
    row = await engine.pool.fetchrow("SELECT status FROM deployments WHERE id = $1::uuid", dep_id)
    if row is None or row["status"] not in ("active", "paused"):
        await engine.drop(dep_id)
    else:
        runner.status = row["status"]


async def _consume_orders(rt: Runtime, engine: Engine) -> None:
    """Apply order events to intents and trades, once each (inbox)."""

    async def handle(msg: Msg) -> None:
        ev = msgspec.json.decode(msg.data, type=OrderEvent)
        if not ev.deployment_id:
            return
        out = Outgoing()
        async with rt.pool.acquire() as conn, conn.transaction():
            if not await outbox.claim(conn, fills.CONSUMER, ev.event_id):
                return
            await fills.apply(conn, out, ev, rt.clock.now())
        await out.publish(rt.js, rt.pool)

    await consume(rt.js, service=rt.settings.service_name, stream=streams.EVENTS.name,
                  durable=fills.CONSUMER, filter_subject=subjects.user_events_of_domain("order"),
                  handler=handle, deliver_new=True, ack_wait_s=30.0)

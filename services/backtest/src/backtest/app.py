"""build_app(settings): wire NATS, Postgres, the history source, handlers and workers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
from contracts import streams, subjects
from contracts.events.backtest import (
    DEPLOYMENT_DOMAIN,
    DEPLOYMENT_ENDED,
    DEPLOYMENT_RUNNING,
    DeploymentChanged,
)
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from svckit import migrations as mig
from svckit.logging import get_logger
from svckit.runner import Runtime

from . import handlers, pulling
from .analytics import Analytics
from .backtests import Backtests
from .exports import Exports
from .history import HistorySource, MarketdataHistory
from .settings import BacktestSettings
from .strategies import DEPLOYMENT_CONSUMER, Strategies
from .worker import Worker

log = get_logger(__name__)


def migrations() -> list[mig.Migration]:
    """Return the backtest service's own migrations."""
    return mig.load("backtest")


@dataclass
class Services:
    """The wired use cases (tests reach them through `runtime.services`)."""

    strategies: Strategies
    backtests: Backtests
    analytics: Analytics
    exports: Exports
    worker: Worker
    runtime: Runtime

    def start_worker(self) -> None:
        """Start (or restart) the JOBS consumer; `worker_task` is its task."""
        self.worker_task = self.runtime.spawn(pulling.supervise("jobs", self.worker.run))


@contextlib.asynccontextmanager
async def build_app(settings: BacktestSettings,
                    history: HistorySource | None = None) -> AsyncIterator[Runtime]:
    """Open connections, register handlers, start the workers; close everything on exit.

    `history` replaces the marketdata source (tests and benchmarks only).
    """
    rt = Runtime(settings, description="Strategies, backtest jobs, results and analytics",
                 database=True, migrations=migrations(), outbox=True)
    async with rt:
        assert rt.pool is not None
        source = history or MarketdataHistory(rt.nc, settings.history_timeout_s)
        strategies = Strategies(rt.pool, rt.clock)
        backtests = Backtests(rt.pool, rt.clock)
        worker = Worker(rt.pool, rt.js, source, rt.clock, settings)
        services = Services(strategies, backtests, Analytics(rt.pool, backtests),
                            Exports(rt.pool, backtests, rt.js, settings.export_inline_max_bytes),
                            worker, rt)
        rt.services = services  # type: ignore[attr-defined]
        handlers.register(rt.micro, strategies, backtests, services.analytics, services.exports)
        await rt.ensure_stream(streams.JOBS)
        await rt.ensure_stream(streams.EVENTS)
        await rt.start()
        await rt.nc.flush()  # the server knows our subscriptions before anyone may call
        if settings.workers > 0:
            services.start_worker()
            rt.spawn(worker.reap_forever())
        if settings.consume_deployments:
            rt.spawn(pulling.supervise("deployments", lambda: _consume_deployments(rt, strategies)))
        try:
            yield rt
        finally:
            worker.draining = True


async def _consume_deployments(rt: Runtime, strategies: Strategies) -> None:
    """Follow deployment events (started/resumed, stopped/halted) to move strategies live and back."""
    async def handle(msg: Msg) -> None:
        name = msg.subject.rsplit(".", 1)[-1]
        if name not in DEPLOYMENT_RUNNING + DEPLOYMENT_ENDED:
            return
        try:
            event = msgspec.json.decode(msg.data, type=DeploymentChanged)
        except msgspec.ValidationError as exc:
            log.warning("deployment_event.unreadable", subject=msg.subject, error=str(exc))
            return
        await strategies.on_deployment(event, name in DEPLOYMENT_RUNNING)

    subject = subjects.user_events_of_domain(DEPLOYMENT_DOMAIN)
    config = ConsumerConfig(durable_name=DEPLOYMENT_CONSUMER, ack_policy=AckPolicy.EXPLICIT,
                            ack_wait=30, max_deliver=20, filter_subject=subject)
    sub = await rt.js.pull_subscribe(subject, durable=DEPLOYMENT_CONSUMER,
                                     stream=streams.EVENTS.name, config=config)
    try:
        while True:
            for msg in await pulling.fetch(sub, 50):
                try:
                    await handle(msg)
                except Exception:
                    log.exception("deployment_event.failed", subject=msg.subject)
                    await msg.nak(delay=2.0)
                else:
                    await msg.ack()
    finally:
        await pulling.close(sub)

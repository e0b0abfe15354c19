"""Backtest workers: a JetStream pull consumer on JOBS running jobs concurrently.

Each job: mark running, fetch history, signals, engine, package, then store every result and
the completed status in ONE transaction. While a job runs it sends in-progress acks, so it is
not redelivered; a worker that dies mid-job stops acking, the job is redelivered after
`job_ack_wait_s`, and the next attempt starts over (nothing was stored). Progress goes to
`evt.<userId>.backtest.progress` directly (losing one is harmless), final events via the outbox.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import msgspec
from contracts import backtest as C
from contracts import streams
from contracts.events.backtest import (
    BacktestCompleted,
    BacktestFailed,
    BacktestJob,
    BacktestProgressed,
)
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from svckit.clock import Clock
from svckit.errors import Rejected, Retryable
from svckit.logging import get_logger

from . import backtest_sql as bsql
from . import compute, domain, pulling
from . import repository as repo
from .errors import BacktestError
from .history import HistorySource
from .publish import backtest_event, backtest_subject, emit_backtest, emit_status, encoded
from .settings import BacktestSettings

log = get_logger(__name__)
JOB_CONSUMER = "backtest-workers"


class Stop(Exception):
    """The backtest was cancelled or finished elsewhere; drop the job."""


class Worker:
    """Runs backtest jobs from JOBS, `settings.workers` at a time."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, source: HistorySource,
                 clock: Clock, settings: BacktestSettings) -> None:
        self.pool = pool
        self.js = js
        self.source = source
        self.clock = clock
        self.s = settings
        self.draining = False
        self.completed = 0
        self.last_stages: dict[str, float] = {}

    async def run(self) -> None:
        """Pull jobs until cancelled; each job runs in its own task."""
        config = ConsumerConfig(durable_name=JOB_CONSUMER, ack_policy=AckPolicy.EXPLICIT,
                                ack_wait=self.s.job_ack_wait_s, max_deliver=self.s.job_max_deliver,
                                filter_subject=C.JOB_SUBJECT, max_ack_pending=-1)
        sub = await self.js.pull_subscribe(C.JOB_SUBJECT, durable=JOB_CONSUMER,
                                           stream=streams.JOBS.name, config=config)
        slots = asyncio.Semaphore(self.s.workers)
        running: set[asyncio.Task] = set()
        try:
            while True:
                await slots.acquire()
                try:
                    msgs = await pulling.fetch(sub, 1)
                except BaseException:
                    slots.release()
                    raise
                if not msgs:
                    slots.release()
                for msg in msgs:
                    task = asyncio.create_task(self.handle(msg))
                    running.add(task)
                    task.add_done_callback(lambda t: (running.discard(t), slots.release()))
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            await pulling.close(sub)

    async def handle(self, msg: Msg) -> None:
        """Run one job and settle its message (ack, NAK with delay, or TERM)."""
        job = msgspec.json.decode(msg.data, type=BacktestJob)
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        last = deliveries >= self.s.job_max_deliver
        beat = asyncio.create_task(self._heartbeat(msg, uuid.UUID(job.backtest_id)))
        started = time.perf_counter()
        try:
            stages = self.last_stages = await self.execute(job)
            await msg.ack()
            log.info("backtest.done", backtest_id=job.backtest_id, stages_s=stages,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1))
        except Stop:
            await msg.ack()
        except Rejected as exc:
            await self._fail(job, str(exc))
            await msg.term()
        except asyncio.CancelledError:
            if self.draining:  # a graceful stop hands the job back at once; a crash does not
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:
            log.exception("backtest.attempt_failed", backtest_id=job.backtest_id,
                          deliveries=deliveries)
            if last:
                await self._fail(job, f"gave up after {deliveries} attempts: {exc}")
                await msg.term()
            else:
                delay = exc.delay_s if isinstance(exc, Retryable) else min(30.0, 2.0 ** deliveries)
                await msg.nak(delay=delay)
        finally:
            beat.cancel()

    async def _heartbeat(self, msg: Msg, bid: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.s.job_heartbeat_s)
            try:
                await msg.in_progress()
                async with self.pool.acquire() as conn:
                    await bsql.heartbeat(conn, bid)
            except (NatsError, OSError, asyncpg.PostgresError) as exc:
                # a lost heartbeat only risks a redelivery, never a result
                log.warning("backtest.heartbeat_failed", error=str(exc))

    async def execute(self, job: BacktestJob) -> dict[str, float]:
        """Run one backtest from bars to stored results; return seconds spent per stage."""
        bid = uuid.UUID(job.backtest_id)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await bsql.get(conn, None, job.backtest_id, lock=True)
            if row is None or row["status"] in ("completed", "failed", "cancelled"):
                raise Stop
            await bsql.start(conn, bid, self.clock.now())
        stages: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            stages[name] = round(now - mark, 4)
            mark = now

        await self._progress(job, 5, "history")
        start, end = compute.window(job.from_date, job.to_date)
        bars = await self.source.bars(job.segment, job.security_id, job.symbol, job.interval,
                                      start, end)
        if bars.height < 2:
            raise BacktestError(f"no {job.interval} bars for {job.symbol} between "
                                f"{job.from_date} and {job.to_date}")
        lap("history")
        await self._progress(job, 30, "signals")
        entries, exits = await asyncio.to_thread(compute.signals, job, bars)
        lap("signals")
        await self._progress(job, 50, "engine")
        result = await asyncio.to_thread(compute.run_engine, job, bars, entries, exits)
        lap("engine")
        await self._progress(job, 75, "metrics")
        outcome = await asyncio.to_thread(compute.package, job, result, self.s.equity_points)
        lap("metrics")
        await self._progress(job, 90, "storing")
        await self._store(job, bid, outcome)
        lap("store")
        self.completed += 1
        return stages

    async def _store(self, job: BacktestJob, bid: uuid.UUID, out: compute.Outcome) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await bsql.get(conn, None, job.backtest_id, lock=True)
            if row is None or row["status"] != "running":
                raise Stop  # cancelled while running, or another attempt already finished it
            await bsql.complete(conn, bid, out, self.clock.now())
            await emit_backtest(conn, backtest_event(
                BacktestCompleted, row, self.clock, total_trades=len(out.trades),
                net_profit_paise=out.net_profit_paise,
                total_return_pct=out.metrics.get("totalReturnPct")))
            owner = await repo.strategy_owner(conn, job.strategy_id)
            if owner is not None:
                new = domain.after_backtest(owner["status"])
                if new != owner["status"]:
                    await repo.set_status(conn, owner["id"], new)
                    await emit_status(conn, self.clock, owner["user_id"], owner["id"],
                                      owner["status"], new, "backtest completed")

    async def _progress(self, job: BacktestJob, percent: int, stage: str) -> None:
        bid = uuid.UUID(job.backtest_id)
        async with self.pool.acquire() as conn:
            status = await bsql.status(conn, bid)
            if status != "running":
                raise Stop
            await bsql.progress(conn, bid, percent)
        row: dict[str, Any] = {"id": job.backtest_id, "user_id": job.user_id,
                               "strategy_id": job.strategy_id,
                               "strategy_version_id": job.strategy_version_id}
        event = backtest_event(BacktestProgressed, row, self.clock, percent=percent, stage=stage)
        try:
            await self.js.publish(backtest_subject(event), encoded(event),
                                  headers={"Nats-Msg-Id": event.event_id})
        except (NatsError, OSError) as exc:  # progress is advisory; the job goes on
            log.warning("backtest.progress_not_sent", error=str(exc))

    async def _fail(self, job: BacktestJob, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await bsql.get(conn, None, job.backtest_id, lock=True)
            if row is None or row["status"] in ("completed", "failed", "cancelled"):
                return
            await bsql.finish(conn, row["id"], "failed", reason[:2000], self.clock.now())
            await emit_backtest(conn, backtest_event(BacktestFailed, row, self.clock,
                                                     reason=reason[:2000]))
        log.warning("backtest.failed", backtest_id=job.backtest_id, reason=reason)


    def stale_after_s(self) -> float:
        """Return how long a running backtest may stay silent before it counts as lost."""
        return self.s.stale_job_s or self.s.job_ack_wait_s * (self.s.job_max_deliver + 1) + 60

    async def reap(self) -> int:
        """Fail running backtests whose worker went silent after the job's last delivery."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await bsql.lost(conn, self.stale_after_s())
            for row in rows:
                reason = "the worker running this backtest stopped and no retry is left"
                await bsql.finish(conn, row["id"], "failed", reason, self.clock.now())
                await emit_backtest(conn, backtest_event(BacktestFailed, row, self.clock,
                                                         reason=reason))
        return len(rows)

    async def reap_forever(self) -> None:
        """Reap lost backtests every ack wait."""
        while True:
            try:
                if n := await self.reap():
                    log.warning("backtest.reaped", count=n)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("backtest.reap_failed", error=str(exc))
            await asyncio.sleep(self.s.job_ack_wait_s)

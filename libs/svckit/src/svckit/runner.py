"""The run loop: wire connections once, serve until SIGTERM, drain on the way out.

A service's `build_app(settings)` returns an async context manager yielding a `Runtime`;
`run_service` owns signals, logging, tracing and the ops server around it (STYLE.md 1-2).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from contracts.streams import StreamSpec
from nats.aio.client import Client
from nats.js import JetStreamContext

from . import migrations as mig
from .clock import Clock, SimClock, WallClock
from .db import create_pool
from .jetstream import ensure_stream
from .logging import configure_logging, get_logger
from .micro import MicroService
from .nats import connect
from .ops import OpsServer, ReadyCheck
from .outbox import OutboxRelay
from .settings import ServiceSettings
from .tracing import setup_tracing

log = get_logger(__name__)


class Runtime:
    """The connections and background tasks of one running service."""

    def __init__(self, settings: ServiceSettings, *, version: str = "0.1.0",
                 description: str = "", database: bool = False, redis: bool = False,
                 migrations: list[mig.Migration] | None = None, outbox: bool = False,
                 sim_clock: bool = True) -> None:
        self.settings = settings
        self._version = version
        self._description = description
        self._want_db = database
        self._want_redis = redis
        self._migrations = migrations
        self._outbox = outbox
        self._sim_clock = sim_clock
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task] = []
        self.shutdown_grace_s = 10.0
        """How long shutdown waits for cancelled background tasks to finish."""
        self.checks: dict[str, ReadyCheck] = {}
        self.nc: Client
        self.js: JetStreamContext
        self.micro: MicroService
        self.pool: asyncpg.Pool | None = None
        self.redis: aioredis.Redis | None = None
        self.clock: Clock = WallClock()

    async def ensure_stream(self, spec: StreamSpec) -> None:
        """Declare a stream with this service's configured replicas (`STREAM_REPLICAS`)."""
        await ensure_stream(self.js, spec, self.settings.stream_replicas)

    async def __aenter__(self) -> Runtime:
        s = self.settings
        try:
            if self._want_db:
                await self._open_db()
            if self._want_redis:
                # A bounded pool: an unbounded one opens a new connection for every request
                # in flight once a burst builds up, and each new connection is costly.
                pool = aioredis.BlockingConnectionPool.from_url(
                    s.redis_url, max_connections=s.redis_pool_max, timeout=5)
                self.redis = aioredis.Redis(connection_pool=pool)
                self._stack.push_async_callback(pool.disconnect)
                self._stack.push_async_callback(self.redis.aclose)
                self.checks["redis"] = self._redis_ok
            self.nc = await connect(s)
            self._stack.push_async_callback(self._drain_nats)
            self.js = self.nc.jetstream()
            self.checks["nats"] = self._nats_ok
            if s.clock_url and self._sim_clock:
                clock = SimClock(s.clock_url)
                await clock.start()
                self._stack.push_async_callback(clock.stop)
                self.clock = clock
            self.micro = MicroService(self.nc, s.service_name, self._version, self._description,
                                      s.request_concurrency)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _open_db(self) -> None:
        s = self.settings
        self.pool = await create_pool(s)
        self._stack.push_async_callback(self._close_pool)
        self.checks["postgres"] = self._db_ok
        if self._migrations is not None and s.migrate_on_start:
            async with self.pool.acquire() as conn:
                await mig.migrate(conn, s.schema(), mig.builtin() + self._migrations)

    async def start(self) -> None:
        """Start answering requests and run the outbox relay, if any."""
        if self._outbox and self.pool is not None:
            self.spawn(OutboxRelay(self.pool, self.js, self.settings.service_name).run())
        await self.micro.start()
        self._stack.push_async_callback(self.micro.stop)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run a background task for the service's lifetime; a crash is logged loudly."""
        task = asyncio.create_task(coro)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)
        return task

    @staticmethod
    def _task_done(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("task.crashed", task=task.get_name(), error=repr(task.exception()))

    async def __aexit__(self, *exc: object) -> None:
        # Cancel again while a task runs on: on Python 3.11 `asyncio.wait_for` (used inside
        # nats-py's request, for one) drops a cancellation that arrives as its future
        # completes, and a service loop would then go round for ever. A later cancel lands
        # at the loop's next await. After the grace, say which task is stuck where, go on.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace_s
        stuck = set(self._tasks)
        while stuck and loop.time() < deadline:
            for task in stuck:
                task.cancel()
            _, stuck = await asyncio.wait(stuck, timeout=min(1.0, deadline - loop.time()))
        if stuck:
            for task in stuck:
                frames = [f"{f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}"
                          for f in task.get_stack()]
                log.error("task.stuck_at_shutdown", task=task.get_name(), frames=frames)
        await self._stack.aclose()

    async def _close_pool(self) -> None:
        # pool.close() waits for every connection to be released; a connection stuck in a
        # cancelled task would hold shutdown forever, so give it a bound, then terminate.
        assert self.pool is not None
        try:
            await asyncio.wait_for(self.pool.close(), 10)
        except TimeoutError:
            log.warning("postgres.close_timeout")
            self.pool.terminate()

    async def _drain_nats(self) -> None:
        if not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 10)
            except (TimeoutError, OSError):
                await self.nc.close()

    async def _nats_ok(self) -> bool:
        return self.nc.is_connected

    async def _db_ok(self) -> bool:
        assert self.pool is not None
        return await self.pool.fetchval("SELECT 1") == 1

    async def _redis_ok(self) -> bool:
        assert self.redis is not None
        return bool(await self.redis.ping())


AppFactory = Callable[[Any], AbstractAsyncContextManager[Runtime]]


async def serve(settings: ServiceSettings, build_app: AppFactory,
                stop: asyncio.Event | None = None,
                on_ready: Callable[[OpsServer], Awaitable[None]] | None = None) -> None:
    """Run the app until `stop` is set (or SIGTERM/SIGINT), then drain."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            # no signal handlers here (not the main thread, or a platform without them):
            # the caller's `stop` event is then the only way to end the run
            pass
    async with build_app(settings) as rt:
        ops = OpsServer(settings.ops_host, settings.ops_port, rt.checks)
        await ops.start()
        log.info("service.started", instance=settings.instance_id)
        if on_ready:
            await on_ready(ops)
        await stop.wait()
        log.info("service.stopping")
        await ops.stop()
    log.info("service.stopped")


def run_service(settings: ServiceSettings, build_app: AppFactory) -> None:
    """Configure logging and tracing, then serve until told to stop (`__main__` calls this)."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    setup_tracing(settings.service_name, settings.otlp_endpoint)
    with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
        runner.run(serve(settings, build_app))


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return uvloop's loop factory when asked for and installed, else None (asyncio's)."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop
    return None


async def migrate_only(settings: ServiceSettings, migrations: list[mig.Migration]) -> list[str]:
    """Apply migrations and exit (the Kubernetes init step)."""
    conn = await asyncpg.connect(settings.dsn())
    try:
        return await mig.migrate(conn, settings.schema(), mig.builtin() + migrations)
    finally:
        await conn.close()

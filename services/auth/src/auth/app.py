"""build_app(settings): the one place that wires NATS, Postgres, Redis and keys (STYLE.md 1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from contracts import natsperms, streams
from svckit import migrations as mig
from svckit.logging import get_logger
from svckit.outbox import OutboxRelay
from svckit.runner import Runtime

from . import audit_consumer, eventcreds, handlers
from .admin import ensure_admin
from .guard import Guard
from .keys import SecretBox, load_data_key, load_keyring
from .passwords import Passwords
from .service import SERVICE, Core
from .settings import AuthSettings

log = get_logger(__name__)


def migrations() -> list[mig.Migration]:
    """Return the auth schema's migrations."""
    return mig.load("auth")


async def supervised(name: str, factory: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run a background loop, restarting it with backoff if it crashes, until cancelled.

    When cancelled, keep cancelling it until it has really stopped: on Python 3.11
    `asyncio.wait_for` can swallow a cancellation that lands as its inner future completes,
    and a `while True` loop around it would then never end, hanging shutdown.
    """
    delay = 0.5
    while True:
        task = asyncio.ensure_future(factory())
        try:
            await asyncio.shield(task)
            return
        except asyncio.CancelledError:
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.2)
            raise
        except Exception as exc:  # noqa: BLE001 - a dead relay or consumer would stop all events
            log.error("task.restarting", task=name, error=repr(exc), in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def make_core(settings: AuthSettings, rt: Runtime) -> Core:
    """Build the use cases' core on a started runtime's connections."""
    assert rt.pool is not None and rt.redis is not None
    guard = Guard(rt.redis, settings.redis_prefix, access_ttl_s=settings.access_token_ttl_s,
                  max_per_account=settings.login_max_failures_per_account,
                  max_per_ip=settings.login_max_failures_per_ip,
                  window_s=settings.login_failure_window_s)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib,
                          settings.argon2_parallelism)
    return Core(settings=settings, pool=rt.pool, redis=rt.redis, ring=load_keyring(settings),
                box=SecretBox(load_data_key(settings)), passwords=passwords, guard=guard)


@asynccontextmanager
async def build_app(settings: AuthSettings) -> AsyncIterator[Runtime]:
    """Connect, migrate, declare streams, create the first admin, and serve every subject."""
    rt = Runtime(settings, description="Users, sessions, 2FA, API keys, JWKS, audit log",
                 database=True, redis=True, migrations=migrations(), outbox=False,
                 sim_clock=False)
    async with rt:
        core = make_core(settings, rt)
        for spec in (streams.EVENTS, streams.MAIL, streams.AUDIT):
            await rt.ensure_stream(spec)
        if settings.admin_email and settings.admin_password is not None:
            user, created = await ensure_admin(core, settings.admin_email, settings.admin_name,
                                               settings.admin_password.get_secret_value())
            log.info("auth.admin_ready", email=user.email, created=created)
        uc = handlers.UseCases.build(core)
        handlers.register(rt.micro, uc)

        async def credentials_changed() -> None:
            await rt.nc.publish(natsperms.EVENT_CREDENTIALS_CHANGED, b"")

        eventcreds.register(rt.micro, eventcreds.EventCredentials(
            core, credentials_changed, settings.event_nats_url or settings.nats_url))
        # the outbox relay is spawned here rather than by Runtime(outbox=True) to supervise it
        relay = OutboxRelay(rt.pool, rt.js, SERVICE)
        rt.spawn(supervised("outbox", relay.run))
        if settings.audit_consumer:
            rt.spawn(supervised("audit", lambda: audit_consumer.run(rt.js, uc.admin.ingest)))
        await rt.start()
        yield rt

"""`build_app(settings)`: wire NATS, Postgres, Redis, the Dhan feed and the loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from contracts import streams
from svckit import migrations as mig
from svckit.logging import get_logger
from svckit.runner import Runtime

from . import handlers
from .bars import BarAggregator
from .calendar import Calendar
from .dhan.feed import feed_url
from .dhan.manager import FeedManager
from .dhan.rest import DhanRest, sim_client
from .history import History, ensure_bucket
from .instruments import import_scrip_master, needs_import, refresh_daily
from .leases import Leases
from .live import FeedEvents, LivePipeline
from .quotes import QuoteCache
from .repository import trigram_schema
from .service import MarketData
from .settings import Settings
from .watchdog import Watchdog

log = get_logger(__name__)


async def credentials(s: Settings) -> tuple[str, str] | None:
    """Return the data (client id, token); in dev, ask the simulator for one if none is set."""
    if s.dhan_client_id and s.dhan_access_token:
        return s.dhan_client_id, s.dhan_access_token.get_secret_value()
    if not s.dhan_sim_autoclient or s.environment == "prod":
        return None
    root = s.dhan_api_base.rstrip("/").removesuffix("/v2")
    try:
        made = await sim_client(root)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("dhan.no_credentials", error=str(exc))
        return None
    log.info("dhan.sim_client_created", client_id=made[0])
    return made


def _always(s: Settings) -> set[tuple[str, str]]:
    return {tuple(item.split(":", 1)) for item in s.always_subscribe if ":" in item}  # type: ignore[misc]


@contextlib.asynccontextmanager
async def build_app(settings: Settings) -> AsyncIterator[Runtime]:
    """Yield a running marketdata service; stop the feed and flush bars on exit."""
    rt = Runtime(settings, database=True, redis=True, outbox=True,
                 migrations=mig.load("marketdata"),
                 description="Instruments, live feed, ticks and bars, quotes, history, calendar")
    async with rt:
        assert rt.pool is not None and rt.redis is not None
        for spec in (streams.MD_TICKS, streams.MD_BARS, streams.MD_STATUS):
            await rt.ensure_stream(spec)
        await ensure_bucket(rt.js, settings.history_bucket_ttl_s)
        now = rt.clock.now
        creds = await credentials(settings)
        rest = DhanRest(settings.dhan_api_base, *creds, quote_rate=settings.quote_rate_per_s,
                        data_rate=settings.data_rate_per_s) if creds else None
        calendar = Calendar.load()
        async with rt.pool.acquire() as conn:
            trgm = await trigram_schema(conn)
        quotes = QuoteCache(rt.redis, settings.key, settings.quote_ttl_s, rest, now)
        svc = MarketData(rt.pool, rt.js, calendar, quotes, History(rt.pool, rest, calendar, now),
                         Leases(rt.redis, settings.redis_prefix), now, trgm)
        if settings.scrip_master_url:
            if await needs_import(rt.pool, settings.scrip_master_refresh_s):
                await import_scrip_master(rt.pool, settings.scrip_master_url)
            rt.spawn(refresh_daily(rt.pool, settings.scrip_master_url,
                                   settings.scrip_master_refresh_s))
        events = FeedEvents(rt.js, now)
        aggregator = BarAggregator(calendar.session_bounds, grace_s=settings.bar_grace_s)
        pipeline = LivePipeline(rt.nc, rt.pool, aggregator, quotes, now, calendar.session_bounds)
        if settings.feed_enabled and creds:
            feed = FeedManager(feed_url(settings.dhan_feed_url, *creds), pipeline.on_ticks,
                               events.emit, now, mode=settings.feed_mode,
                               max_connections=settings.feed_max_connections,
                               per_connection=settings.feed_per_connection,
                               per_message=settings.feed_per_message)
            watchdog = Watchdog(calendar, now, stale_after_s=settings.stale_after_s,
                                step_s=settings.watchdog_step_s, resubscribe=feed.resubscribe,
                                fallback=quotes.fetch_rest, emit=events.emit)
            svc.feed, svc.watchdog, pipeline.watchdog = feed, watchdog, watchdog
            rt.spawn(_follow_leases(svc, feed, watchdog, _always(settings),
                                    settings.lease_sweep_s))
            rt.spawn(_every(watchdog.check, settings.watchdog_interval_s))
        handlers.register(rt.micro, svc)
        await rt.start()
        for loop in (quotes.run_flusher(settings.quote_flush_s), quotes.run_rest_batcher(),
                     pipeline.run_clock(), pipeline.run_writer(), pipeline.run_recovery()):
            rt.spawn(loop)
        rt.marketdata, rt.pipeline, rt.feed_events = svc, pipeline, events  # type: ignore[attr-defined]
        try:
            yield rt
        finally:
            # Bounded: a wedged socket or database must not block the drain forever.
            if svc.feed is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(svc.feed.stop(), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pipeline.flush_bars(), 5)
            if rest is not None:
                await rest.aclose()


async def _follow_leases(svc: MarketData, feed: FeedManager, watchdog: Watchdog,
                         always: set[tuple[str, str]], every_s: float) -> None:
    while True:
        try:
            wanted = set(await svc.leases.active()) | always
            await feed.set_wanted(wanted)
            watchdog.set_wanted(set(feed.assigned))
        except Exception as exc:  # noqa: BLE001 - keep following; Redis may come back
            log.warning("leases.sweep_failed", error=str(exc))
        await asyncio.sleep(every_s)  # sweep period


async def _every(fn, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)  # check period
        try:
            await fn()
        except Exception as exc:  # noqa: BLE001 - the watchdog must outlive one bad round
            log.warning("watchdog.round_failed", error=str(exc))

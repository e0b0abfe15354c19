"""build_app(settings): wire NATS, Postgres, Redis, adapters, handlers and background loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from contracts import streams, subjects
from nats.aio.msg import Msg
from svckit import migrations as mig
from svckit.errors import Retryable

# svckit.consume has no hook to unsubscribe on cancel; reuse its per-message ack/NAK/TERM logic.
from svckit.jetstream import consume
from svckit.logging import get_logger
from svckit.runner import Runtime

from . import handlers, metrics
from . import repository as repo
from .accounts import Accounts
from .adapters.paper.broker import PaperExchange, PaperOrder
from .brokers import Brokers
from .crypto import KeyRing
from .manual import Manual
from .ordering import Orders
from .portfolio import PaperLedger, Portfolio
from .reconcile import Reconciler
from .settings import BrokerageSettings
from .ticks import TickFeed

log = get_logger(__name__)
INTENT_CONSUMER = "brokerage-intents"


def migrations() -> list[mig.Migration]:
    """Return the brokerage's own migrations."""
    return mig.load("brokerage")


@dataclass
class Services:
    """The wired use cases (tests reach them through `runtime.services`)."""

    orders: Orders
    manual: Manual
    accounts: Accounts
    portfolio: Portfolio
    brokers: Brokers
    paper: PaperExchange
    ticks: TickFeed


@contextlib.asynccontextmanager
async def build_app(settings: BrokerageSettings) -> AsyncIterator[Runtime]:
    """Open connections, register handlers, start consumers; close everything on exit."""
    keyring = KeyRing.parse(settings.credential_keys.get_secret_value())
    rt = Runtime(settings, description="Linked accounts, orders exactly once, portfolio",
                 database=True, redis=True, migrations=migrations(), outbox=True)
    async with rt:
        assert rt.pool is not None
        ledger = PaperLedger(rt.pool)
        paper = PaperExchange(rt.clock, sink=_unset_sink, ledger=ledger)
        ledger.exchange = paper
        brokers = Brokers(settings, keyring, paper, rt.spawn)
        orders = Orders(rt.pool, brokers, rt.clock, settings)
        paper.sink = orders.on_paper
        brokers.on_update = orders.on_update
        brokers.on_auth_failed = orders.reauth
        brokers.on_circuit_open = orders.connection_lost
        ticks = TickFeed(rt.nc, paper)
        paper.on_new_instrument = ticks.ensure
        manual = Manual(orders)
        services = Services(orders, manual, Accounts(orders), Portfolio(rt.pool, brokers, rt.clock),
                            brokers, paper, ticks)
        rt.services = services  # type: ignore[attr-defined]
        limiter = handlers.OrderLimiter(rt.redis, settings.key, settings.order_rate_per_s * 2) \
            if rt.redis is not None else None
        handlers.register(rt.micro, services.accounts, manual, services.portfolio, limiter)
        await rt.ensure_stream(streams.ORDERS)
        await rt.ensure_stream(streams.EVENTS)
        await _restore(services)
        try:
            await rt.start()
            rt.spawn(_reconcile_forever(Reconciler(orders), settings.reconcile_interval_s))
            rt.spawn(_consume_intents(rt, manual, settings))
            rt.spawn(metrics.count_accounts_forever(rt.pool))
            yield rt
        finally:
            await brokers.close()


async def _unset_sink(*_: object) -> None:
    raise RuntimeError("paper exchange used before the order service was wired")


async def _restore(svc: Services) -> None:
    """Rebuild the paper book, tick subscriptions and Dhan order sockets from the tables."""
    async with svc.orders.pool.acquire() as conn:
        rows = await repo.open_orders(conn)
        dhan = await repo.tradable_accounts(conn, "dhan")
        held = await conn.fetch(
            "SELECT DISTINCT t.exchange_segment, t.security_id FROM trades t"
            " JOIN accounts a ON a.id = t.account_id"
            " WHERE a.broker = 'paper' AND a.unlinked_at IS NULL")
    for row in rows:
        if row["broker"] == "paper" and row["broker_order_id"]:
            svc.paper.restore(PaperOrder(
                account_id=str(row["account_id"]), broker_order_id=row["broker_order_id"],
                correlation_id=row["intent_id"], security_id=row["security_id"],
                exchange_segment=row["exchange_segment"], side=row["transaction_type"],
                quantity=row["quantity"], order_type=row["order_type"],
                product_type=row["product_type"], validity=row["validity"], price=row["price"],
                trigger=row["trigger_price"], created=row["created_at"],
                filled=row["filled_quantity"], avg=row["average_price"], funds_checked=True))
    # Instruments with open paper orders or paper fills: their ticks value the positions.
    wanted = svc.paper.instruments() | {(r["exchange_segment"], r["security_id"]) for r in held}
    for segment, security_id in wanted:
        await svc.ticks.ensure(segment, security_id)
    for account in dhan:
        try:
            svc.brokers.start_stream(account)
        except Exception:
            log.exception("account.stream_failed", account_id=str(account["id"]))


async def _reconcile_forever(reconciler: Reconciler, interval_s: float) -> None:
    """Reconcile at once (orders of unknown outcome after a restart), then periodically."""
    while True:
        try:
            await reconciler.reconcile()
            await reconciler.o.brokers.paper.expire_day()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile.failed")
        await asyncio.sleep(interval_s)


async def _consume_intents(rt: Runtime, manual: Manual, s: BrokerageSettings) -> None:
    """Pull intents from ORDERS (durable) with svckit's ack/NAK/TERM mapping.

    Intents of one account (one subject) are sent in order; accounts proceed in parallel.
    """

    sending = asyncio.Semaphore(max(1, min(s.intent_concurrency, s.db_pool_max // 2 - 1)))

    async def handle(msg: Msg) -> None:
        try:
            async with sending:
                await manual.handle_intent(msg.data)
        except OSError as exc:
            raise Retryable(f"transient failure: {exc}", delay_s=1.0) from exc

    await consume(rt.js, service=s.service_name, stream=streams.ORDERS.name,
                  durable=INTENT_CONSUMER, filter_subject=subjects.order_intents_all(),
                  handler=handle, batch=s.intent_batch, ack_wait_s=s.intent_ack_wait_s,
                  max_deliver=50, ordered_by=lambda msg: msg.subject)

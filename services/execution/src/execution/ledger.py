"""Commit decisions: intent, trade, log row and events in one transaction (outbox), then publish.

Every row is published by this process after the commit (`Outgoing.publish`): the intents
at once, the latency that matters; the engine's events and the marks once it is idle
(`Deferred`, `Idle`, milliseconds later). The outbox relay only publishes rows older
than `outbox_grace_s`: a publish that failed, or a process that died between commit and
publish. Both copies would carry the same `Nats-Msg-Id`, so ORDERS and EVENTS keep one; the
grace keeps core-NATS subscribers (the gateway's WebSocket) from seeing two in normal running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
import uuid
from datetime import datetime

import asyncpg
import msgspec
from contracts import headers as hd
from contracts import subjects
from contracts.events.base import Event, encode
from contracts.events.execution import (
    DEPLOYMENT_DOMAIN,
    DEPLOYMENT_EVENT_NAMES,
    SIGNAL_DOMAIN,
    BarSnapshot,
    DeploymentEvent,
    SignalGenerated,
    SignalRefused,
)
from contracts.events.orders import OrderIntent
from nats.js import JetStreamContext
from svckit import outbox, tracing
from svckit.logging import get_logger

from . import repository as repo
from .runner import Decision

log = get_logger(__name__)
_INTENT_PREFIX = subjects.order_intents_all()[:-1]  # "ord.intent."
_NS = uuid.UUID("6f1c2a4e-9a51-4d0a-9b1e-3c2f5e7d8a90").bytes
_URL = uuid.NAMESPACE_URL.bytes
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid5(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(...))` without the UUID objects (a busy minute makes hundreds)."""
    h = bytearray(hashlib.sha1(namespace + name.encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def stable_id(*parts: object) -> str:
    """Return a UUID that is the same for the same parts (event ids of deterministic facts)."""
    return uuid5(_NS, "|".join(str(p) for p in parts))


class Outgoing:
    """Messages enqueued in a transaction, to publish once it commits."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes, str]] = []

    async def add(self, conn: asyncpg.Connection, subject: str, payload: bytes, msg_id: str) -> None:
        """Enqueue a message in the outbox and remember it for the fast path."""
        await outbox.enqueue_many(conn, [(subject, payload, msg_id)], notify=False)
        self.items.append((subject, payload, msg_id))

    async def event(self, conn: asyncpg.Connection, subject: str, ev: Event) -> None:
        """Enqueue a user event under its own id."""
        await self.add(conn, subject, encode(ev), ev.event_id)

    async def publish(self, js: JetStreamContext, pool: asyncpg.Pool,
                      later: Deferred | None = None) -> None:
        """Publish what was committed and mark it sent; the relay covers any failure.

        With `later`, only the order intents go out now (the latency that matters); the
        events wait until the engine is idle, and every mark joins one statement there."""
        if not self.items:
            return
        now, rest = self.items, []
        if later is not None:
            now = [x for x in self.items if x[0].startswith(_INTENT_PREFIX)]
            rest = [x for x in self.items if not x[0].startswith(_INTENT_PREFIX)]
        sent = await _publish(js, now)
        if later is not None:
            later.add(sent, rest)
        elif sent:
            await _mark(pool, sent)


PUBLISH_TIMEOUT_S = 5.0
"""How long a publish waits for JetStream's acknowledgement before the relay takes over."""
PUBLISH_PENDING_BOUNDED = 3_000
"""From this many unacknowledged publishes on, waiting for a free slot is bounded."""


async def _publish(js: JetStreamContext, items: list[tuple[str, bytes, str]],
                   timeout: float = PUBLISH_TIMEOUT_S) -> list[str]:
    """Publish at once; return the outbox rows of those JetStream acknowledged.

    `publish_async` sends every message before waiting for any acknowledgement, and the
    acknowledgements come back on one subscription: `publish` made a request of each (an
    inbox, a timer, a future), a third of the engine's cost of an intent. An unacknowledged
    message is not marked, so the relay sends it again after its grace (same message id).
    """
    if not items:
        return []
    futures: list[asyncio.Future | None] = []
    for s, p, m in items:
        try:
            # nats-py holds at most 4,000 unacknowledged publishes; a slot frees as an
            # acknowledgement comes. Near the limit, wait for one at most `timeout` (a bound
            # costs a task per publish, so only there): NATS is away, the relay sends the rest
            stall = timeout if js.publish_async_pending() >= PUBLISH_PENDING_BOUNDED else None
            futures.append(await js.publish_async(s, p, headers={hd.MSG_ID: m},
                                                  wait_stall=stall))
        except Exception as exc:  # connection closed, draining or stalled
            log.warning("outbox.publish_failed", subject=s, error=repr(exc),
                        left_to_relay=len(items) - len(futures))
            futures += [None] * (len(items) - len(futures))
            break
    waiting = [f for f in futures if f is not None]
    if waiting:
        _, late = await asyncio.wait(waiting, timeout=timeout)
        for f in late:  # frees its slot; the relay publishes it after its grace
            f.cancel()
    return [outbox_row_id(m) for (_, _, m), f in zip(items, futures, strict=True)
            if f is not None and not f.cancelled() and f.exception() is None]


class Idle:
    """Whether the engine is deciding (a bar or tick between its arrival and its intents).

    Work that no order waits for (events, outbox marks, the bar record of deployments that
    decided nothing) runs once nothing urgent has gone on for `settle_s`: on a busy minute
    close it otherwise took the CPU, the pool and Postgres from the intents of instruments
    still being decided. `max_wait_s` bounds the wait when decisions never stop.
    """

    def __init__(self, settle_s: float = 0.002, max_wait_s: float = 0.5) -> None:
        self.settle_s = settle_s
        self.max_wait_s = max_wait_s
        self.busy = 0
        self.last = 0.0
        self._free = asyncio.Event()
        self._free.set()

    @contextlib.contextmanager
    def urgent(self):
        """Mark a stretch of deciding."""
        self.busy += 1
        self._free.clear()
        try:
            yield
        finally:
            self.busy -= 1
            self.last = time.monotonic()
            if not self.busy:
                self._free.set()

    async def wait(self) -> None:
        """Return once idle for `settle_s` (or after `max_wait_s`)."""
        deadline = time.monotonic() + self.max_wait_s
        while (left := deadline - time.monotonic()) > 0:
            if self.busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._free.wait()
                continue
            gap = time.monotonic() - self.last
            if gap >= self.settle_s:
                return
            await asyncio.sleep(min(self.settle_s - gap, left))


class Turns:
    """Instruments evaluate one at a time, with a turn of the event loop between two.

    All bars of a minute arrive in one read, and asyncio runs every ready handler before it
    looks at the sockets again: the first instrument's commit reply, and so its intents,
    waited until every instrument had been evaluated. Between two turns here the loop polls
    its sockets, so replies are read and intents published while later instruments are still
    being evaluated (and ticks checked against stops).
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self):
        """Hold the turn (synchronous work only inside); the next starts a loop turn later."""
        await self._lock.acquire()
        try:
            yield
        finally:
            # released from the next loop iteration: a waiter woken now would run in this
            # one, before the loop polls its sockets
            asyncio.get_running_loop().call_soon(self._lock.release)


DEFERRED_CHUNK = 32
"""Deferred messages go out this many at a time, urgent work first between two runs.
`_publish` sends without yielding while nats-py has slots free: a busy minute close's 100-150
signal events went out in one run of 4-6 ms (traced, 1,000 deployments), and a stop's tick
arriving then waited for all of them."""


class Deferred:
    """Events to publish and outbox rows to mark sent, once the engine is idle.

    Every row here is committed. Until it is marked, the outbox relay sends it only after its
    grace (`outbox_grace_s`, seconds): a crash here loses nothing, and the wait here
    (milliseconds) never lets the relay send a second copy.
    """

    def __init__(self, js: JetStreamContext, pool: asyncpg.Pool, idle: Idle) -> None:
        self.js, self.pool, self.idle = js, pool, idle
        self.marks: list[str] = []
        self.items: list[tuple[str, bytes, str]] = []
        self.task: asyncio.Task | None = None
        self._flushing: set[asyncio.Task] = set()  # the loop holds tasks weakly

    def add(self, sent: list[str], items: list[tuple[str, bytes, str]]) -> None:
        """Queue rows already published (to mark) and messages to publish."""
        if not sent and not items:
            return
        self.marks += sent
        self.items += items
        if self.task is None:
            self.task = asyncio.create_task(self._later())
            # `task` is cleared while it still flushes (the next additions start another)
            self._flushing.add(self.task)
            self.task.add_done_callback(self._flushing.discard)

    async def _later(self) -> None:
        try:
            await self.idle.wait()
        finally:
            self.task = None
        try:
            await self.flush()
        except Exception as exc:  # the pool closing under it: the relay sends them later
            log.warning("outbox.deferred_failed", error=str(exc))

    async def flush(self) -> None:
        """Publish and mark what is queued now (also at shutdown), urgent work first between
        two runs of `DEFERRED_CHUNK` messages."""
        items, self.items = self.items, []
        marks, self.marks = self.marks, []
        for start in range(0, len(items), DEFERRED_CHUNK):
            if start:
                await self.idle.wait()
            marks += await _publish(self.js, items[start:start + DEFERRED_CHUNK])
        if marks:
            await _mark(self.pool, marks)


async def _mark(pool: asyncpg.Pool, ids: list[str]) -> None:
    try:
        await pool.execute("UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                           " WHERE id = ANY($1::uuid[]) AND published_at IS NULL", ids)
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("outbox.mark_failed", error=str(exc))


def outbox_row_id(msg_id: str) -> str:
    """Return the outbox row id svckit derives from a message id (`outbox.enqueue`)."""
    if _CANONICAL.fullmatch(msg_id):  # our own event ids: the UUID as it is written
        return msg_id
    if len(msg_id) < 32:  # no UUID spelling is this short (intent ids are 26 characters)
        return uuid5(_URL, msg_id)
    try:
        return str(uuid.UUID(msg_id))
    except ValueError:
        return uuid5(_URL, msg_id)


def _bar_doc(dec: Decision) -> dict | None:
    b = dec.bar
    if b is None:
        return None
    return {"start": b.start.isoformat(), "end": b.end.isoformat(), "open": b.open,
            "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}


def _snapshot(dec: Decision) -> BarSnapshot | None:
    b = dec.bar
    if b is None:
        return None
    return BarSnapshot(interval=b.interval, start=b.start, end=b.end, open=b.open, high=b.high,
                       low=b.low, close=b.close, volume=b.volume)


def _values(dec: Decision) -> dict:
    return {k: v for k, v in dec.values.items() if isinstance(v, (int, float, bool)) or v is None}


async def record(conn: asyncpg.Connection, out: Outgoing, dep: dict, dec: Decision,
                 now: datetime) -> bool:
    """Write one decision and its messages; False when its intent already existed."""
    fresh = await record_many(conn, out, [(dep, dec)], now)
    return dec.kind == "refusal" or dec.intent_id in fresh


async def record_many(conn: asyncpg.Connection, out: Outgoing,
                      decided: list[tuple[dict, Decision]], now: datetime) -> set[str]:
    """Write decisions and their messages; return the intent ids that were new (a decision
    whose intent already existed writes nothing else)."""
    _, fresh = await commit(conn, out, None, decided, now)
    return fresh


async def commit(conn: asyncpg.Connection, out: Outgoing, owner: str | None,
                 decided: list[tuple[dict, Decision]], now: datetime,
                 advances: list[tuple[str, datetime, dict | None, int, int | None]] | None = None,
                 ) -> tuple[set[str], set[str]]:
    """Write a commit of the engine in one round trip (`record_decisions` in SQL).

    With `advances` (deployment, bar start, evaluator state or None, close, stream seq) the
    bar each deployment saw is recorded; those that had seen it, or that `owner` no longer
    runs, keep nothing. Without, decisions count for deployments `owner` runs (None: all).
    Return (deployments kept, intents that were new); `out` gets the messages written,
    intents first (the broker gets them before the signal and refusal events).

    A busy bar decides for hundreds of deployments at once: nine round trips per commit,
    and seven per decision before that, were most of a trading minute's work.
    """
    hdrs = tracing.inject({})
    ids: dict[str, None] = {}
    intents, trades, exits, logs, messages = [], [], [], [], []
    bars: dict[int, tuple] = {}  # id(bar) -> its log document and event snapshot
    for dep, dec in decided:
        user, dep_id = dep["user_id"], str(dep["id"])
        ids[dep_id] = None
        # an instrument's deployments decide on the same bar: spell it out once
        if id(dec.bar) not in bars:
            bars[id(dec.bar)] = (_bar_doc(dec), _snapshot(dec))
        bar_doc, snap = bars[id(dec.bar)]
        values = _values(dec)
        if dec.kind == "refusal":
            ev = SignalRefused(
                event_id=stable_id(dep_id, dec.ts.isoformat(), dec.action, "refused"),
                reasons=dec.reasons, **_common(dep, dec, now, snap, values))
            messages.append((subjects.user_event(user, SIGNAL_DOMAIN, "refused"), encode(ev),
                             ev.event_id, None, dep_id))
            logs.append(dict(deployment_id=dep_id, user_id=user, ts=dec.ts, kind="refusal",
                             action=dec.action, intent_id=None, reasons=dec.reasons,
                             message=f"{dec.action} refused: " + "; ".join(dec.reasons),
                             bar=bar_doc, values=values))
            continue
        iid = dec.intent_id
        intents.append(dict(intent_id=iid, deployment_id=dep_id, user_id=user,
                            account_id=dep["account_id"], leg=dec.leg, action=dec.action,
                            side=dec.side, quantity=dec.quantity, trade_ids=dec.trade_ids,
                            bar_start=dec.bar.start if dec.bar else None, created_at=dec.ts))
        if dec.new_trade_id:
            trades.append(dict(
                id=dec.new_trade_id, deployment_id=dep_id, user_id=user,
                strategy_id=dep["strategy_id"], account_id=dep["account_id"],
                segment=dep["segment"], security_id=dep["security_id"], symbol=dep["symbol"],
                direction=dep["direction"]))
        else:
            exits += [dict(trade_id=t, intent_id=iid, reason=dec.action) for t in dec.trade_ids]
        intent = OrderIntent(
            event_id=stable_id(iid, "intent"), ts_event=dec.ts, ts_init=now, intent_id=iid,
            user_id=user, account_id=dep["account_id"], deployment_id=dep_id,
            security_id=dep["security_id"], exchange_segment=dep["segment"],
            transaction_type=dec.side, quantity=dec.quantity, order_type="MARKET",
            product_type=dep["product"], tag=f"{dec.action}")
        messages.append((subjects.order_intent(dep["account_id"]), encode(intent), iid, iid,
                         dep_id))
        ev = SignalGenerated(event_id=stable_id(iid, "signal"), intent_id=iid,
                             **_common(dep, dec, now, snap, values))
        messages.append((subjects.user_event(user, SIGNAL_DOMAIN, "generated"), encode(ev),
                         ev.event_id, iid, dep_id))
        logs.append(dict(deployment_id=dep_id, user_id=user, ts=dec.ts, kind="signal",
                         action=dec.action, intent_id=iid, reasons=[],
                         message=f"{dec.action} {dec.side} {dec.quantity}: {dec.rule}",
                         bar=bar_doc, values=values))
    doc: dict = {"intents": intents, "trades": trades, "exits": exits, "logs": logs,
                 "headers": hdrs, "id_header": hd.MSG_ID,
                 "outbox": [dict(id=outbox_row_id(m), subject=s, msg_id=m, gate=g,
                                 deployment_id=dep)
                            for s, _, m, g, dep in messages]}
    if advances is not None:
        doc["advance"] = [dict(id=a[0], bar=a[1], state=a[2], price=a[3], seq=a[4])
                          for a in advances]
        ids.update((a[0], None) for a in advances)
    rows = await conn.fetch(
        "SELECT out_kind, out_id FROM record_decisions($1, $2::uuid[], $3::text::jsonb,"
        " $4::bytea[])", owner, list(ids), repo.dumps(doc), [m[1] for m in messages])
    kept = {r["out_id"] for r in rows if r["out_kind"] == "deployment"}
    fresh = {r["out_id"] for r in rows if r["out_kind"] == "intent"}
    sent = [(s, p, m) for s, p, m, g, dep in messages
            if (g in fresh if g is not None else dep in kept)]
    out.items += [x for x in sent if x[0].startswith(_INTENT_PREFIX)]
    out.items += [x for x in sent if not x[0].startswith(_INTENT_PREFIX)]
    return kept, fresh


def _common(dep: dict, dec: Decision, now: datetime, snap: BarSnapshot | None,
            values: dict) -> dict:
    return dict(deployment_id=str(dep["id"]), user_id=dep["user_id"],
                strategy_id=dep["strategy_id"], account_id=dep["account_id"],
                segment=dep["segment"], security_id=dep["security_id"], action=dec.action,
                side=dec.side, quantity=dec.quantity, rule=dec.rule, bar=snap,
                price=dec.price, values=values, ts_event=dec.ts, ts_init=now)


async def deployment_event(conn: asyncpg.Connection, out: Outgoing, cls: type[DeploymentEvent],
                           dep: dict, now: datetime, reason: str = "",
                           event_id: str | None = None) -> None:
    """Enqueue a deployment event (started, stopped, paused, ...)."""
    ev = cls(event_id=event_id or str(uuid.uuid4()), ts_event=now, ts_init=now,
             deployment_id=str(dep["id"]), strategy_id=dep["strategy_id"],
             strategy_version_id=dep["strategy_version_id"], user_id=dep["user_id"],
             account_id=dep["account_id"], status=dep["status"], reason=reason)
    await out.event(conn, subjects.user_event(dep["user_id"], DEPLOYMENT_DOMAIN,
                                              DEPLOYMENT_EVENT_NAMES[cls]), ev)


def to_json(struct: msgspec.Struct) -> dict:
    """Return a struct as JSON-ready data."""
    return msgspec.to_builtins(struct)

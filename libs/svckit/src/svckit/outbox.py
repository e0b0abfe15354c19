"""Transactional outbox and inbox (ARCHITECTURE.md §4, STYLE.md 8).

`enqueue` writes the event in the caller's transaction; `OutboxRelay` publishes committed
rows to JetStream with `Nats-Msg-Id` = outbox id (so a relay that crashes after publishing
and before marking is deduplicated by the stream), woken by NOTIFY and by a slow poll.
`claim` records `(consumer, msgId)` in the consumer's own transaction: a redelivered
message finds its row and has no second effect.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence

import asyncpg
import msgspec
from contracts import headers as h
from nats.js import JetStreamContext
from pydantic import BaseModel

from . import metrics, tracing
from .logging import get_logger

log = get_logger(__name__)
CHANNEL = "svckit_outbox"


def _payload(payload: bytes | msgspec.Struct | BaseModel) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, BaseModel):
        return payload.model_dump_json(by_alias=True).encode()
    return msgspec.json.encode(payload)


async def enqueue(
    conn: asyncpg.Connection,
    subject: str,
    payload: bytes | msgspec.Struct | BaseModel,
    *,
    msg_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Add a message to the outbox inside the caller's transaction; return its id."""
    if msg_id is None:
        msg_id = getattr(payload, "event_id", None) or str(uuid.uuid4())
    hdrs = tracing.inject(dict(headers or {}))
    await conn.execute(
        "INSERT INTO outbox (id, subject, payload, headers) VALUES ($1, $2, $3, $4::text::jsonb)"
        " ON CONFLICT (id) DO NOTHING",
        uuid.UUID(msg_id) if _is_uuid(msg_id) else uuid.uuid5(uuid.NAMESPACE_URL, msg_id),
        subject, _payload(payload), json.dumps({**hdrs, h.MSG_ID: msg_id}),
    )
    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return msg_id


async def enqueue_many(
    conn: asyncpg.Connection,
    items: Sequence[tuple[str, bytes | msgspec.Struct | BaseModel, str]],
    *,
    notify: bool = True,
) -> None:
    """Add many messages (subject, payload, msg_id) in one statement and one notification.

    The same rows `enqueue` writes, in one round trip instead of two per message: a commit
    that records hundreds of decisions at once (execution on a busy bar) would otherwise
    spend most of its time waiting on Postgres.
    """
    if not items:
        return
    hdrs = tracing.inject({})
    await conn.execute(
        "INSERT INTO outbox (id, subject, payload, headers) SELECT u.id, u.subject, u.payload,"
        " u.headers::jsonb FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[])"
        " AS u(id, subject, payload, headers) ON CONFLICT (id) DO NOTHING",
        [uuid.UUID(m) if _is_uuid(m) else uuid.uuid5(uuid.NAMESPACE_URL, m) for _, _, m in items],
        [s for s, _, _ in items], [_payload(p) for _, p, _ in items],
        [json.dumps({**hdrs, h.MSG_ID: m}) for _, _, m in items],
    )
    if notify:  # False: the caller publishes these itself and the relay is only its backstop
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def claim(conn: asyncpg.Connection, consumer: str, msg_id: str) -> bool:
    """Record a message as handled by `consumer`; False if it already was (a redelivery)."""
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, msg_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer, msg_id,
    )
    return row is not None


class OutboxRelay:
    """Publish committed outbox rows to JetStream, in creation order."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, service: str,
                 batch: int = 200, poll_s: float = 1.0, min_age_s: float = 0.0) -> None:
        """`min_age_s` > 0 leaves younger rows alone: for a service that publishes its rows
        right after commit itself (and marks them), the relay is then only the backstop
        for a publish that failed or a process that died, and never sends a second copy
        that a core-NATS subscriber would see."""
        self._pool = pool
        self._min_age_s = min_age_s
        self._js = js
        self._service = service
        self._batch = batch
        self._poll_s = poll_s
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Relay until cancelled."""
        listener = await self._pool.acquire()

        def wake(*_: object) -> None:
            self._wake.set()

        await listener.add_listener(CHANNEL, wake)
        try:
            while True:
                try:
                    more = await self.relay_once()
                except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                    log.warning("outbox.relay_failed", error=str(exc))
                    more = False
                if more:
                    continue
                self._wake.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races the inner wait, and this loop would then never end.
                try:
                    async with asyncio.timeout(self._poll_s):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            await listener.remove_listener(CHANNEL, wake)
            await self._pool.release(listener)

    async def relay_once(self) -> bool:
        """Publish one batch; return True when more rows may be waiting."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, subject, payload, headers::text AS headers FROM outbox"
                " WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $2)"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch, self._min_age_s,
            )
            # all at once, acks awaited together: each publish is written to the connection in
            # the order the tasks start (seq order); one at a time it was a round trip per row
            results = await asyncio.gather(
                *(self._js.publish(row["subject"], bytes(row["payload"]),
                                   headers=json.loads(row["headers"]) if row["headers"] else {})
                  for row in rows),
                return_exceptions=True)
            sent = [row["id"] for row, r in zip(rows, results, strict=True)
                    if not isinstance(r, BaseException)]
            for r in results:
                if isinstance(r, asyncio.CancelledError):
                    raise r
            failed = len(rows) - len(sent)
            if failed:
                log.warning("outbox.publish_failed", rows=failed,
                            error=str(next(r for r in results if isinstance(r, BaseException))))
            if sent:
                await conn.execute(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY($1::uuid[])", sent)
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        metrics.OUTBOX_PENDING.labels(self._service).set(pending)  # counted after this batch
        return len(rows) == self._batch and not failed

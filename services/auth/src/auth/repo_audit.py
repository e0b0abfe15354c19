"""SQL for the audit log (every service's AuditRecorded events)."""

from __future__ import annotations

from contracts.auth import AuditEntry, AuditQuery
from contracts.events.audit import AuditRecorded

from .domain import audit_entry_id, page_offset
from .repository import Conn, Row

_COLS = ("id, ts, service, action, user_id, method, path, resource_type, resource_id, ip,"
         " user_agent, request_id, status, outcome")


def to_entry(row: Row) -> AuditEntry:
    """Map an audit_log row to the reply model."""
    return AuditEntry(**dict(row))


async def insert(conn: Conn, event: AuditRecorded) -> None:
    """Store one audit event (a second copy of the same event id is ignored)."""
    await conn.execute(
        f"INSERT INTO audit_log ({_COLS}, detail) VALUES"
        " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        " ON CONFLICT (id) DO NOTHING",
        audit_entry_id(event.event_id), event.ts_event, event.service, event.action, event.user_id,
        event.method, event.path, event.resource_type, event.resource_id, event.ip,
        event.user_agent, event.request_id, event.status, event.outcome, event.detail,
    )


async def query(conn: Conn, q: AuditQuery) -> tuple[list[Row], int]:
    """Filter the audit log, newest first; return a page and the total."""
    where, args = ["TRUE"], []

    def _add(cond: str, value: object) -> None:
        args.append(value)
        where.append(cond.format(f"${len(args)}"))

    if q.user_id:
        _add("user_id = {}", q.user_id)
    if q.action:
        _add("action = {}", q.action)
    if q.service:
        _add("service = {}", q.service)
    if q.outcome:
        _add("outcome = {}", q.outcome)
    if q.since:
        _add("ts >= {}", q.since)
    if q.until:
        _add("ts < {}", q.until)
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM audit_log WHERE {cond}", *args)
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM audit_log WHERE {cond} ORDER BY ts DESC, id"
        f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args, q.page_size, page_offset(q.page, q.page_size),
    )
    return rows, total


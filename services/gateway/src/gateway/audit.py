"""Audit events for every state-changing HTTP call, published to the AUDIT stream.

Published in the background so the caller never waits on JetStream; the event names who,
what, when, from where and the outcome, and never carries a request body (bodies hold
passwords, tokens and codes).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contracts import headers as h
from contracts import subjects
from contracts.events import encode, new_event_fields
from contracts.events.audit import AuditRecorded
from nats.js import JetStreamContext
from svckit.logging import get_logger

log = get_logger(__name__)
SUBJECT = subjects.audit("gateway", "http")


class AuditPublisher:
    """Publish AuditRecorded events without blocking the response."""

    def __init__(self, js: JetStreamContext, max_pending: int = 10_000) -> None:
        self._js = js
        self._pending: set[asyncio.Task] = set()
        self._max_pending = max_pending

    def record(self, event: AuditRecorded) -> None:
        """Queue one event for publishing."""
        if len(self._pending) >= self._max_pending:
            log.error("audit.backlog_full", action=event.action, path=event.path)
            return
        task = asyncio.create_task(self._publish(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, event: AuditRecorded) -> None:
        try:
            await self._js.publish(SUBJECT, encode(event), timeout=5,
                                   headers={h.MSG_ID: event.event_id})
        except Exception as exc:  # noqa: BLE001 - audit loss is logged loudly, never fails the request
            log.error("audit.publish_failed", error=str(exc), action=event.action,
                      path=event.path, request_id=event.request_id)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait for queued events before NATS closes."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)


def audit_event(*, action: str, method: str, path: str, status: int, user_id: str | None,
                ip: str | None, user_agent: str | None, request_id: str | None,
                resource_type: str | None = None, resource_id: str | None = None,
                detail: dict | None = None) -> AuditRecorded:
    """Build the audit event of one HTTP call."""
    now = datetime.now(UTC)
    return AuditRecorded(
        **new_event_fields(now=now), service="gateway", action=action, user_id=user_id,
        method=method, path=path, resource_type=resource_type, resource_id=resource_id,
        ip=ip, user_agent=user_agent, request_id=request_id, status=status,
        outcome="success" if status < 400 else "failure", detail=detail,
    )

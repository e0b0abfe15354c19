"""Audit events on `audit.<service>.<action>`: who, what, when, from where, outcome."""

from __future__ import annotations

from typing import Any

from .base import Event


class AuditRecorded(Event, kw_only=True):
    """A state-changing request happened."""

    service: str
    action: str
    user_id: str | None = None
    method: str | None = None
    path: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    status: int | None = None
    outcome: str = "success"  # success | failure
    detail: dict[str, Any] | None = None

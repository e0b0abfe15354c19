"""The auth use cases' shared core: dependencies, sessions, events, audit, revocation.

The use cases themselves live by concern in sessions.py, accounts.py, twofactor.py,
apikeys.py and admin.py; handlers.py maps each subject to one of them.
Security lifetimes use the wall clock (`Core.now`), never the simulator's market clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from contracts import headers as h
from contracts import subjects
from contracts.auth import TokenPair
from contracts.events import Event, new_event_fields
from contracts.events.audit import AuditRecorded
from contracts.events.auth import DOMAIN, EVENT_NAMES, MAIL_EVENTS
from svckit.context import RequestContext
from svckit.logging import get_logger
from svckit.outbox import enqueue

from . import repository as repo
from .guard import Guard
from .keys import SecretBox
from .passwords import Passwords
from .settings import AuthSettings
from .tokens import KeyRing, digest, expires, issue_access_token, new_secret

log = get_logger(__name__)
SERVICE = "auth"


def wall_now() -> datetime:
    """Return the wall clock in UTC (security lifetimes protect real people in real time)."""
    return datetime.now(UTC)


@dataclass
class Core:
    """What every use case needs."""

    settings: AuthSettings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    ring: KeyRing
    box: SecretBox
    passwords: Passwords
    guard: Guard
    now: Callable[[], datetime] = field(default=wall_now)

    # --- sessions ------------------------------------------------------------------

    async def start_session(self, conn: asyncpg.Connection, user: asyncpg.Record,
                            ctx: RequestContext) -> tuple[TokenPair, str]:
        """Open a refresh-token family for a user; return its first token pair and its id."""
        now = self.now()
        sid = uuid.uuid4()
        s = self.settings
        await repo.insert_session(conn, session_id=sid, user_id=user["id"], now=now,
                                  expires_at=expires(now, s.refresh_token_ttl_s),
                                  ip=ctx.client_ip, user_agent=ctx.user_agent)
        user = await repo.update_user(conn, user["id"], now, last_login_at=now)
        return await self.next_pair(conn, user, str(sid), now), str(sid)

    async def next_pair(self, conn: asyncpg.Connection, user: asyncpg.Record, sid: str,
                        now: datetime) -> TokenPair:
        """Store a new refresh token for a session and sign a fresh access token."""
        s = self.settings
        refresh = new_secret()
        await repo.insert_refresh(conn, token_hash=digest(refresh), session_id=uuid.UUID(sid),
                                  now=now, expires_at=expires(now, s.refresh_token_ttl_s))
        access = issue_access_token(
            self.ring, user_id=str(user["id"]), session_id=sid, role=user["role"],
            email_verified=user["email_verified_at"] is not None, now=now,
            ttl_s=s.access_token_ttl_s,
        )
        return TokenPair(access_token=access, expires_in=s.access_token_ttl_s,
                         refresh_token=refresh, refresh_expires_in=s.refresh_token_ttl_s,
                         user=repo.to_user(user))

    async def revoke(self, conn: asyncpg.Connection, user_id: uuid.UUID, reason: str, *,
                     only: str | None = None, keep: str | None = None,
                     everything: bool = False) -> list[str]:
        """End sessions in Postgres and at once in Redis (the gateway checks it per request)."""
        now = self.now()
        sids = await repo.revoke_sessions(
            conn, user_id, now, reason,
            only=uuid.UUID(only) if only else None, keep=uuid.UUID(keep) if keep else None,
        )
        await self.guard.revoke_sessions(sids)
        if everything:
            await self.guard.revoke_user_before(str(user_id), now)
        return sids

    # --- events and audit -------------------------------------------------------------

    async def publish(self, conn: asyncpg.Connection, user_id: str, event: Event,
                      ctx: RequestContext | None = None) -> None:
        """Queue a user event in the caller's transaction (the outbox relay sends it).

        Events carrying a secret (a verification or reset link) go to `mail.`, not `evt.`.
        """
        name = EVENT_NAMES[type(event)]
        subject = (subjects.mail_request(user_id, DOMAIN, name) if type(event) in MAIL_EVENTS
                   else subjects.user_event(user_id, DOMAIN, name))
        await enqueue(conn, subject, event, headers=_trace_headers(ctx))

    def fields(self) -> dict[str, Any]:
        """Return fresh eventId/tsEvent/tsInit values stamped with the wall clock."""
        return new_event_fields(now=self.now())

    async def audit(self, conn: asyncpg.Connection, ctx: RequestContext, action: str, *,
                    user_id: str | None, outcome: str = "success",
                    detail: dict[str, Any] | None = None, resource_id: str | None = None,
                    status: int | None = None) -> None:
        """Queue an AuditRecorded for a security-relevant action of this service."""
        event = AuditRecorded(
            **self.fields(), service=SERVICE, action=action, user_id=user_id,
            resource_type="user", resource_id=resource_id or user_id, ip=ctx.client_ip,
            user_agent=ctx.user_agent, request_id=ctx.request_id, status=status,
            outcome=outcome, detail=detail,
        )
        await enqueue(conn, subjects.audit(SERVICE, action), event, headers=_trace_headers(ctx))

    async def audit_alone(self, ctx: RequestContext, action: str, **kw: Any) -> None:
        """Record an audit event in its own transaction (for failures that change nothing)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self.audit(conn, ctx, action, **kw)

    def mail(self, kind: str, to: str, url: str) -> None:
        """Write a mail's link to the log so a person can follow it until notify exists."""
        if self.settings.mail_links_logged():
            log.info("auth.mail", kind=kind, to=to, url=url)


def _trace_headers(ctx: RequestContext | None) -> dict[str, str]:
    if ctx is None or not ctx.request_id:
        return {}
    return {h.REQUEST_ID: ctx.request_id}

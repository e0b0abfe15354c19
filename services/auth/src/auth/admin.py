"""Admin use cases (users, status, audit log), the audit-stream consumer and the first admin."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from contracts import headers as h
from contracts.api import Page
from contracts.auth import (
    AdminListUsers,
    AdminSetStatus,
    AuditEntry,
    AuditQuery,
    Register,
    Role,
    User,
    UserStatus,
)
from contracts.events import decode
from contracts.events.audit import AuditRecorded
from contracts.events.auth import UserStatusChanged
from nats.aio.msg import Msg
from pydantic import ValidationError
from svckit.context import RequestContext
from svckit.errors import Rejected
from svckit.outbox import claim

from . import repo_audit
from . import repository as repo
from .audit_consumer import DURABLE as AUDIT_CONSUMER
from .domain import may_set_status, page_offset, parse_uuid
from .errors import Forbidden, UserNotFound
from .service import Core


class Admin:
    """What an administrator may do; every entry point requires the admin role."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def list_users(self, req: AdminListUsers, ctx: RequestContext) -> Page[User]:
        """Search users by e-mail or name, filtered by status and role."""
        ctx.require_admin()
        async with self.core.pool.acquire() as conn:
            rows, total = await repo.list_users(
                conn, q=req.q, status=req.status, role=req.role, limit=req.page_size,
                offset=page_offset(req.page, req.page_size))
        return Page[User](items=[repo.to_user(r) for r in rows], total=total, page=req.page,
                          page_size=req.page_size)

    async def set_status(self, req: AdminSetStatus, ctx: RequestContext) -> User:
        """Suspend (revoking every session at once) or reactivate a user."""
        actor = ctx.require_admin()
        target = parse_uuid(req.user_id)
        if target is None:
            raise UserNotFound()
        if not may_set_status(actor, str(target)):
            raise Forbidden("You cannot change your own status")
        core = self.core
        async with core.pool.acquire() as conn, conn.transaction():
            user = await repo.user_by_id(conn, target, lock=True)
            if user is None:
                raise UserNotFound()
            if user["status"] == req.status:
                return repo.to_user(user)
            user = await repo.update_user(conn, target, core.now(), status=str(req.status))
            if req.status is UserStatus.SUSPENDED:
                await core.revoke(conn, target, "suspended", everything=True)
            uid = str(target)
            await core.publish(conn, uid, UserStatusChanged(
                **core.fields(), user_id=uid, status=str(req.status), by_user_id=actor), ctx)
            await core.audit(conn, ctx, "user_status", user_id=actor, resource_id=uid,
                             detail={"status": str(req.status), "reason": req.reason})
        return repo.to_user(user)

    async def audit_log(self, req: AuditQuery, ctx: RequestContext) -> Page[AuditEntry]:
        """Query the audit log of every service, newest first."""
        ctx.require_admin()
        async with self.core.pool.acquire() as conn:
            rows, total = await repo_audit.query(conn, req)
        return Page[AuditEntry](items=[repo_audit.to_entry(r) for r in rows], total=total,
                                page=req.page, page_size=req.page_size)

    async def ingest(self, msg: Msg) -> None:
        """Store one AUDIT-stream message exactly once (inbox row and insert in one txn)."""
        try:
            event = decode(msg.data, AuditRecorded)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Rejected(f"undecodable audit event: {exc}") from exc
        msg_id = (msg.headers or {}).get(h.MSG_ID) or event.event_id
        async with self.core.pool.acquire() as conn, conn.transaction():
            if await claim(conn, AUDIT_CONSUMER, msg_id):
                await repo_audit.insert(conn, event)


async def ensure_admin(core: Core, email: str, name: str, password: str) -> tuple[User, bool]:
    """Create an admin (e-mail counted as verified), or promote an existing account.

    Returns the user and whether it was created. An existing account keeps its password.
    """
    try:
        Register(email=email, password=password, name=name)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"admin account refused: {problems}") from exc
    async with core.pool.acquire() as conn:
        existing = await repo.user_by_email(conn, email)
    if existing is not None:
        if existing["role"] != Role.ADMIN:
            async with core.pool.acquire() as conn:
                existing = await repo.update_user(conn, existing["id"], core.now(),
                                                  role=str(Role.ADMIN))
        return repo.to_user(existing), False
    password_hash = await core.passwords.hash(password)
    now = core.now()
    async with core.pool.acquire() as conn:
        try:
            row = await repo.insert_user(conn, user_id=uuid.uuid4(), email=email.strip(),
                                         name=name, phone=None, password_hash=password_hash,
                                         role=Role.ADMIN, now=now, verified_at=now)
        except asyncpg.UniqueViolationError:  # another instance created it at the same time
            return await ensure_admin(core, email, name, password)
    return repo.to_user(row), True

"""TOTP two-factor authentication: enable (pending), verify (active + recovery codes), disable."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from contracts.api import Empty
from contracts.auth import Disable2fa, Message, RecoveryCodes, TwoFactorSetup, Verify2fa
from contracts.events.auth import TwoFactorChanged
from svckit.context import RequestContext

from . import repository as repo
from . import totp
from .domain import normalise_email, parse_uuid
from .errors import Conflict, UserNotFound, invalid_field
from .service import Core


async def check_second_factor(core: Core, conn: asyncpg.Connection, user: asyncpg.Record,
                              code: str | None, recovery_code: str | None,
                              now: datetime) -> str | None:
    """Accept a fresh TOTP code or spend a recovery code; return which, or None."""
    uid = str(user["id"])
    if code and user["totp_secret"] is not None:
        secret = core.box.open(bytes(user["totp_secret"]), uid)
        step = totp.matching_step(secret, code, now, user["totp_last_step"])
        if step is not None:
            await repo.update_user(conn, user["id"], now, totp_last_step=step)
            return "totp"
    digest = totp.recovery_code_digest(uid, recovery_code) if recovery_code else None
    if digest is not None and await repo.use_recovery_code(conn, user["id"], digest, now):
        return "recovery_code"
    return None


class TwoFactor:
    """Use cases of 2FA setup and removal (the acting user only)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def _user(self, conn: asyncpg.Connection, ctx: RequestContext,
                    lock: bool = False) -> asyncpg.Record:
        uid = parse_uuid(ctx.require_user())
        user = await repo.user_by_id(conn, uid, lock=lock) if uid else None
        if user is None:
            raise UserNotFound()
        return user

    async def enable(self, _: Empty, ctx: RequestContext) -> TwoFactorSetup:
        """Start 2FA setup: a new secret, pending until a code confirms it."""
        core = self.core
        async with core.pool.acquire() as conn, conn.transaction():
            user = await self._user(conn, ctx, lock=True)
            if user["totp_enabled_at"] is not None:
                raise Conflict("Two-factor authentication is already enabled")
            secret = totp.new_secret()
            await repo.update_user(conn, user["id"], core.now(),
                                   totp_pending=core.box.seal(secret, str(user["id"])))
        return TwoFactorSetup(secret=secret, otpauth_url=totp.otpauth_url(
            secret, user["email"], core.settings.totp_issuer))

    async def verify(self, req: Verify2fa, ctx: RequestContext) -> RecoveryCodes:
        """Confirm setup with a code; turn 2FA on and return ten one-time recovery codes."""
        core = self.core
        async with core.pool.acquire() as conn, conn.transaction():
            user = await self._user(conn, ctx, lock=True)
            if user["totp_enabled_at"] is not None:
                raise Conflict("Two-factor authentication is already enabled")
            if user["totp_pending"] is None:
                raise Conflict("Start two-factor setup first")
            uid = str(user["id"])
            pending = bytes(user["totp_pending"])
            now = core.now()
            step = totp.matching_step(core.box.open(pending, uid), req.code, now, None)
            if step is None:
                raise invalid_field("code", "Invalid authentication code")
            codes = totp.new_recovery_codes()
            await repo.replace_recovery_codes(
                conn, user["id"], [totp.recovery_code_digest(uid, c) for c in codes])
            await repo.update_user(conn, user["id"], now, totp_secret=pending, totp_pending=None,
                                   totp_enabled_at=now, totp_last_step=step)
            await core.publish(conn, uid, TwoFactorChanged(**core.fields(), user_id=uid,
                                                           enabled=True), ctx)
            await core.audit(conn, ctx, "twofa_enable", user_id=uid)
        return RecoveryCodes(recovery_codes=codes)

    async def disable(self, req: Disable2fa, ctx: RequestContext) -> Message:
        """Turn 2FA off; needs the password and a current code or an unused recovery code."""
        core = self.core
        if not req.code and not req.recovery_code:
            raise invalid_field("code", "Enter a code from your authenticator app or a recovery code")
        async with core.pool.acquire() as conn:
            user = await self._user(conn, ctx)
        uid, email = str(user["id"]), normalise_email(user["email"])
        await core.guard.attempt(email, ctx.client_ip)
        if not await core.passwords.verify(user["password_hash"], req.password):
            await core.audit_alone(ctx, "twofa_disable", user_id=uid, outcome="failure",
                                   status=400, detail={"reason": "invalid_password"})
            raise invalid_field("password", "Password is incorrect")
        if user["totp_enabled_at"] is None:
            await core.guard.forgive(email, ctx.client_ip)
            raise Conflict("Two-factor authentication is not enabled")
        async with core.pool.acquire() as conn, conn.transaction():
            user = await self._user(conn, ctx, lock=True)
            now = core.now()
            via = await check_second_factor(core, conn, user, req.code, req.recovery_code, now)
            if via is not None:
                await repo.replace_recovery_codes(conn, user["id"], [])
                await repo.update_user(conn, user["id"], now, totp_secret=None, totp_pending=None,
                                       totp_enabled_at=None, totp_last_step=None)
                await core.publish(conn, uid, TwoFactorChanged(**core.fields(), user_id=uid,
                                                               enabled=False), ctx)
                await core.audit(conn, ctx, "twofa_disable", user_id=uid, detail={"method": via})
        if via is None:
            raise invalid_field("code", "Invalid authentication code")
        await core.guard.forgive(email, ctx.client_ip)
        return Message(message="Two-factor authentication disabled")

"""Registration, e-mail verification, forgotten and changed passwords."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from contracts.api import Empty
from contracts.auth import (
    ChangePassword,
    ForgotPassword,
    Message,
    Register,
    ResetPassword,
    Role,
    User,
    VerifyEmail,
)
from contracts.events.auth import (
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    UserRegistered,
)
from svckit.context import RequestContext

from . import repository as repo
from .domain import link, normalise_email, parse_uuid
from .errors import EmailTaken, UserNotFound, invalid_field
from .service import Core
from .tokens import digest, expires, new_secret

VERIFY_PATH = "/verify-email"
RESET_PATH = "/reset-password"
FORGOT_REPLY = "If an account exists for that email, a password reset link has been sent"


class Accounts:
    """Use cases around an account's identity and password."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def register(self, req: Register, ctx: RequestContext) -> User:
        """Create an account (unverified) and send the verification mail."""
        core = self.core
        password_hash = await core.passwords.hash(req.password)
        email = str(req.email).strip()
        async with core.pool.acquire() as conn, conn.transaction():
            try:
                user = await repo.insert_user(conn, user_id=uuid.uuid4(), email=email,
                                              name=req.name, phone=req.phone,
                                              password_hash=password_hash, role=Role.USER,
                                              now=core.now())
            except asyncpg.UniqueViolationError as exc:
                raise EmailTaken() from exc
            uid = str(user["id"])
            await core.publish(conn, uid, UserRegistered(**core.fields(), user_id=uid,
                                                         email=email, name=req.name), ctx)
            url = await self._verification(conn, user, ctx)
            await core.audit(conn, ctx, "register", user_id=uid)
        core.mail("verify_email", email, url)
        return repo.to_user(user)

    async def _verification(self, conn: asyncpg.Connection, user: asyncpg.Record,
                            ctx: RequestContext) -> str:
        core = self.core
        token, now = new_secret(), core.now()
        until = expires(now, core.settings.email_verify_ttl_s)
        await repo.insert_one_time(conn, token_hash=digest(token), user_id=user["id"],
                                   purpose="verify_email", now=now, expires_at=until)
        url = link(core.settings.app_base_url, VERIFY_PATH, token)
        uid = str(user["id"])
        await core.publish(conn, uid, EmailVerificationRequested(
            **core.fields(), user_id=uid, email=user["email"], name=user["name"],
            verify_url=url, expires_at=until.isoformat()), ctx)
        return url

    async def verify_email(self, req: VerifyEmail, ctx: RequestContext) -> Message:
        """Mark the e-mail verified with a mailed single-use token."""
        core = self.core
        async with core.pool.acquire() as conn, conn.transaction():
            now = core.now()
            user_id = await repo.consume_one_time(conn, digest(req.token), "verify_email", now)
            if user_id is None:
                raise invalid_field("token", "This verification link is invalid or has expired")
            user = await repo.user_by_id(conn, user_id, lock=True)
            if user["email_verified_at"] is None:
                await repo.update_user(conn, user_id, now, email_verified_at=now)
                uid = str(user_id)
                await core.publish(conn, uid, EmailVerified(**core.fields(), user_id=uid), ctx)
                await core.audit(conn, ctx, "email_verified", user_id=uid)
        return Message(message="Email verified")

    async def resend_verification(self, _: Empty, ctx: RequestContext) -> Message:
        """Send a fresh verification mail (earlier links stop working)."""
        core = self.core
        uid = parse_uuid(ctx.require_user())
        async with core.pool.acquire() as conn, conn.transaction():
            user = await repo.user_by_id(conn, uid) if uid else None
            if user is None:
                raise UserNotFound()
            if user["email_verified_at"] is not None:
                return Message(message="Email already verified")
            url = await self._verification(conn, user, ctx)
        core.mail("verify_email", user["email"], url)
        return Message(message="Verification email sent")

    async def forgot_password(self, req: ForgotPassword, ctx: RequestContext) -> Message:
        """Send a reset mail when the address is registered; the reply never says whether."""
        core = self.core
        loop = asyncio.get_running_loop()
        started = loop.time()
        url: str | None = None
        async with core.pool.acquire() as conn, conn.transaction():
            user = await repo.user_by_email(conn, normalise_email(req.email))
            if user is not None and user["status"] == "active":
                token, now = new_secret(), core.now()
                until = expires(now, core.settings.password_reset_ttl_s)
                await repo.insert_one_time(conn, token_hash=digest(token), user_id=user["id"],
                                           purpose="reset_password", now=now, expires_at=until)
                url = link(core.settings.app_base_url, RESET_PATH, token)
                uid = str(user["id"])
                await core.publish(conn, uid, PasswordResetRequested(
                    **core.fields(), user_id=uid, email=user["email"], name=user["name"],
                    reset_url=url, expires_at=until.isoformat()), ctx)
        if url is not None:
            core.mail("reset_password", user["email"], url)
        # pad to a floor so the reply time does not tell a registered address from another
        remaining = core.settings.forgot_password_min_reply_s - (loop.time() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        return Message(message=FORGOT_REPLY)

    async def reset_password(self, req: ResetPassword, ctx: RequestContext) -> Message:
        """Set a new password with a single-use token; every session is revoked."""
        core = self.core
        password_hash = await core.passwords.hash(req.password)
        async with core.pool.acquire() as conn, conn.transaction():
            now = core.now()
            user_id = await repo.consume_one_time(conn, digest(req.token), "reset_password", now)
            if user_id is None:
                raise invalid_field("token", "This reset link is invalid or has expired")
            user = await repo.user_by_id(conn, user_id, lock=True)
            # following the mailed link proves the address, so it counts as verified
            verified = user["email_verified_at"] or now
            await repo.update_user(conn, user_id, now, password_hash=password_hash,
                                   email_verified_at=verified)
            await core.revoke(conn, user_id, "password_reset", everything=True)
            uid = str(user_id)
            await core.publish(conn, uid, PasswordChanged(**core.fields(), user_id=uid,
                                                          via="reset"), ctx)
            await core.audit(conn, ctx, "password_reset", user_id=uid)
        await core.guard.succeeded(normalise_email(user["email"]), None)
        return Message(message="Password reset; sign in with your new password")

    async def change_password(self, req: ChangePassword, ctx: RequestContext) -> Message:
        """Change the password after checking the current one; other sessions are revoked."""
        core = self.core
        uid = parse_uuid(ctx.require_user())
        async with core.pool.acquire() as conn:
            user = await repo.user_by_id(conn, uid) if uid else None
        if user is None:
            raise UserNotFound()
        email = normalise_email(user["email"])
        await core.guard.attempt(email, ctx.client_ip)
        if not await core.passwords.verify(user["password_hash"], req.current_password):
            await core.audit_alone(ctx, "password_change", user_id=str(uid), outcome="failure",
                                   status=400, detail={"reason": "invalid_password"})
            raise invalid_field("currentPassword", "Current password is incorrect")
        await core.guard.forgive(email, ctx.client_ip)
        password_hash = await core.passwords.hash(req.new_password)
        current = parse_uuid(ctx.session_id or "")
        async with core.pool.acquire() as conn, conn.transaction():
            await repo.update_user(conn, uid, core.now(), password_hash=password_hash)
            await core.revoke(conn, uid, "password_change", keep=str(current) if current else None)
            await core.publish(conn, str(uid), PasswordChanged(**core.fields(), user_id=str(uid),
                                                               via="change"), ctx)
            await core.audit(conn, ctx, "password_change", user_id=str(uid))
        return Message(message="Password changed; your other sessions were signed out")

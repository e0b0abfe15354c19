"""Sign-in, second factor, refresh with rotation and reuse detection, logout."""

from __future__ import annotations

import uuid

from contracts.api import Ok
from contracts.auth import Login, Login2fa, LoginResult, Logout, Refresh, TokenPair
from contracts.events.auth import NewLogin
from svckit.context import RequestContext
from svckit.errors import Unauthorized

from . import repository as repo
from .domain import RefreshVerdict, judge_refresh, normalise_email, parse_uuid
from .errors import AccountSuspended, InvalidCredentials, InvalidToken, invalid_field
from .service import Core
from .tokens import digest, expires, new_secret
from .twofactor import check_second_factor

CHALLENGE_INVALID = "The sign-in challenge is invalid or expired; sign in again"


class Sessions:
    """Use cases that create, extend and end sessions."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def login(self, req: Login, ctx: RequestContext) -> LoginResult:
        """Check e-mail and password; return tokens, or a challenge when 2FA is on."""
        core = self.core
        email = normalise_email(req.email)
        await core.guard.attempt(email, ctx.client_ip)
        async with core.pool.acquire() as conn:
            user = await repo.user_by_email(conn, email)
        stored = user["password_hash"] if user else None
        if not await core.passwords.verify(stored, req.password):
            await core.audit_alone(ctx, "login", user_id=str(user["id"]) if user else None,
                                   outcome="failure", status=401,
                                   detail={"email": email, "reason": "invalid_credentials"})
            raise InvalidCredentials()
        assert user is not None
        uid = str(user["id"])
        if user["status"] != "active":
            await core.guard.forgive(email, ctx.client_ip)
            await core.audit_alone(ctx, "login", user_id=uid, outcome="failure", status=403,
                                   detail={"reason": "suspended"})
            raise AccountSuspended()
        async with core.pool.acquire() as conn, conn.transaction():
            if core.passwords.needs_rehash(user["password_hash"]):
                new_hash = await core.passwords.hash(req.password)
                user = await repo.update_user(conn, user["id"], core.now(), password_hash=new_hash)
            if user["totp_enabled_at"] is not None:
                # the password was right, but earlier failures stay until the second factor
                await core.guard.forgive(email, ctx.client_ip)
                challenge = new_secret()
                now = core.now()
                await repo.insert_challenge(
                    conn, token_hash=digest(challenge), user_id=user["id"], now=now,
                    expires_at=expires(now, core.settings.challenge_ttl_s),
                    ip=ctx.client_ip, user_agent=ctx.user_agent,
                )
                return LoginResult(two_factor_required=True, challenge_token=challenge)
            pair = await self._signed_in(conn, user, ctx, "login", {"method": "password"})
        await core.guard.succeeded(email, ctx.client_ip)
        return LoginResult(tokens=pair)

    async def login_2fa(self, req: Login2fa, ctx: RequestContext) -> LoginResult:
        """Finish a 2FA sign-in with a TOTP code or a one-time recovery code."""
        if not req.code and not req.recovery_code:
            raise invalid_field("code", "Enter a code from your authenticator app or a recovery code")
        core = self.core
        token_hash = digest(req.challenge_token)
        async with core.pool.acquire() as conn, conn.transaction():
            now = core.now()
            ch = await repo.challenge_for_update(conn, token_hash)
            if (ch is None or ch["used_at"] is not None or ch["expires_at"] <= now
                    or ch["attempts"] >= core.settings.challenge_max_attempts):
                raise InvalidToken(CHALLENGE_INVALID)
            user = await repo.user_by_id(conn, ch["user_id"], lock=True)
            if user is None or user["totp_enabled_at"] is None:
                raise InvalidToken(CHALLENGE_INVALID)
            if user["status"] != "active":
                raise AccountSuspended()
            email = normalise_email(user["email"])
            await core.guard.attempt(email, ctx.client_ip)
            via = await check_second_factor(core, conn, user, req.code, req.recovery_code, now)
            attempts = ch["attempts"] + 1
            if via is None:
                await repo.update_challenge(conn, token_hash, attempts=attempts, used_at=None)
                await core.audit(conn, ctx, "login_2fa", user_id=str(user["id"]),
                                 outcome="failure", status=401, detail={"reason": "invalid_code"})
                pair = None
            else:
                await repo.update_challenge(conn, token_hash, attempts=attempts, used_at=now)
                pair = await self._signed_in(conn, user, ctx, "login_2fa", {"method": via})
        # outside the transaction, so the counted attempt is committed before refusing
        if pair is None:
            raise Unauthorized("Invalid authentication code")
        await core.guard.succeeded(email, ctx.client_ip)
        return LoginResult(tokens=pair)

    async def _signed_in(self, conn, user, ctx: RequestContext, action: str,
                         detail: dict) -> TokenPair:
        pair, sid = await self.core.start_session(conn, user, ctx)
        uid = str(user["id"])
        await self.core.publish(conn, uid, NewLogin(**self.core.fields(), user_id=uid,
                                                    ip=ctx.client_ip, user_agent=ctx.user_agent,
                                                    session_id=sid), ctx)
        await self.core.audit(conn, ctx, action, user_id=uid, detail={**detail, "sessionId": sid})
        return pair

    async def refresh(self, req: Refresh, ctx: RequestContext) -> TokenPair:
        """Spend a refresh token for a new pair; a spent token revokes its whole family."""
        core = self.core
        token_hash = digest(req.refresh_token)
        async with core.pool.acquire() as conn, conn.transaction():
            now = core.now()
            row = await repo.refresh_for_update(conn, token_hash)
            if row is None:
                raise InvalidToken("Invalid refresh token")
            verdict = judge_refresh(token_used_at=row["used_at"], token_expires_at=row["expires_at"],
                                    session_revoked_at=row["revoked_at"],
                                    user_status=row["status"], now=now)
            sid = str(row["session_id"])
            if verdict is RefreshVerdict.ROTATE:
                await repo.spend_refresh(conn, token_hash, now)
                await repo.touch_session(conn, row["session_id"], now,
                                         expires(now, core.settings.refresh_token_ttl_s))
                user = await repo.user_by_id(conn, row["user_id"])
                return await core.next_pair(conn, user, sid, now)
            if verdict is RefreshVerdict.REUSED:
                await core.revoke(conn, row["user_id"], "refresh_reuse", only=sid)
                await core.audit(conn, ctx, "refresh_reuse", user_id=str(row["user_id"]),
                                 outcome="failure", status=401, detail={"sessionId": sid})
        if verdict is RefreshVerdict.REUSED:
            raise InvalidToken("Refresh token reuse detected; the session was ended")
        if verdict is RefreshVerdict.SUSPENDED:
            raise AccountSuspended()
        raise InvalidToken("Invalid refresh token")

    async def logout(self, req: Logout, ctx: RequestContext) -> Ok:
        """End the session of the presented refresh token, or the caller's current session."""
        core = self.core
        async with core.pool.acquire() as conn, conn.transaction():
            target: tuple[uuid.UUID, str] | None = None
            if req.refresh_token:
                row = await repo.session_of_refresh(conn, digest(req.refresh_token))
                if row is not None and (ctx.user_id is None or str(row["user_id"]) == ctx.user_id):
                    target = (row["user_id"], str(row["id"]))
            elif ctx.user_id and ctx.session_id:
                uid, sid = parse_uuid(ctx.user_id), parse_uuid(ctx.session_id)
                if uid is not None and sid is not None:
                    target = (uid, str(sid))
            if target is not None:
                await core.revoke(conn, target[0], "logout", only=target[1])
                await core.audit(conn, ctx, "logout", user_id=str(target[0]),
                                 detail={"sessionId": target[1]})
        return Ok()

"""Personal API keys: created (shown once), listed, revoked, and resolved for the gateway."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from contracts.api import Empty, Ok
from contracts.auth import (
    ApiKeyCreated,
    ApiKeyInfo,
    ApiKeyOwner,
    CreateApiKey,
    RevokeApiKey,
    Role,
    VerifyApiKey,
)
from pydantic import RootModel
from svckit.context import RequestContext

from . import domain
from . import repo_apikeys as repo
from .errors import ApiKeyNotFound, Conflict, InvalidToken, UserNotFound
from .service import Core

INVALID_KEY = "Invalid API key"
# last_used_at is a hint for the owner, not an audit trail: write it at most once a minute
TOUCH_EVERY = timedelta(minutes=1)


class ApiKeyIdentity(ApiKeyOwner):
    """ApiKeyOwner plus whether the owner verified their e-mail (for `x-email-verified`)."""

    email_verified: bool = False


class ApiKeyList(RootModel[list[ApiKeyInfo]]):
    """The caller's keys as a JSON array (the gateway's `list[ApiKeyInfo]`)."""


class ApiKeys:
    """Use cases of personal API keys."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @staticmethod
    def _uid(ctx: RequestContext) -> uuid.UUID:
        uid = domain.parse_uuid(ctx.require_user())
        if uid is None:
            raise UserNotFound()
        return uid

    async def create(self, req: CreateApiKey, ctx: RequestContext) -> ApiKeyCreated:
        """Mint a key for the acting user; the full key is in this reply only."""
        core = self.core
        uid = self._uid(ctx)
        now = core.now()
        until = now + timedelta(days=req.expires_in_days) if req.expires_in_days else None
        async with core.pool.acquire() as conn, conn.transaction():
            if await repo.count_live(conn, uid, now) >= core.settings.api_keys_max_per_user:
                raise Conflict("Too many active API keys; revoke one first")
            for _ in range(3):  # a prefix clash is ~1 in 2.8e12; retry rather than fail
                minted = domain.mint_api_key()
                try:
                    async with conn.transaction():
                        row = await repo.insert(conn, key_id=uuid.uuid4(), user_id=uid,
                                                name=req.name, prefix=minted.prefix,
                                                secret_hash=minted.secret_digest, now=now,
                                                expires_at=until)
                    break
                except asyncpg.UniqueViolationError:
                    continue
            else:
                raise Conflict("Could not create a unique key; try again")
            await core.audit(conn, ctx, "api_key_create", user_id=str(uid),
                             detail={"keyId": str(row["id"]), "prefix": minted.prefix})
        return ApiKeyCreated(key=minted.key, info=repo.to_info(row))

    async def list(self, _: Empty, ctx: RequestContext) -> ApiKeyList:
        """List the acting user's keys without their secrets, newest first."""
        async with self.core.pool.acquire() as conn:
            rows = await repo.list_for(conn, self._uid(ctx))
        return ApiKeyList([repo.to_info(r) for r in rows])

    async def revoke(self, req: RevokeApiKey, ctx: RequestContext) -> Ok:
        """Revoke one of the acting user's keys; another user's key is NOT_FOUND."""
        uid = self._uid(ctx)
        key_id = domain.parse_uuid(req.key_id)
        if key_id is None:
            raise ApiKeyNotFound()
        async with self.core.pool.acquire() as conn, conn.transaction():
            row = await repo.revoke(conn, key_id, uid, self.core.now())
            if row is None:
                raise ApiKeyNotFound()
            await self.core.audit(conn, ctx, "api_key_revoke", user_id=str(uid),
                                  detail={"keyId": str(key_id)})
        return Ok()

    async def verify(self, req: VerifyApiKey, _: RequestContext) -> ApiKeyIdentity:
        """Resolve a key to its owner; revoked or expired keys and suspended owners fail."""
        parsed = domain.parse_api_key(req.api_key)
        if parsed is None:
            raise InvalidToken(INVALID_KEY)
        prefix, secret = parsed
        now = self.core.now()
        async with self.core.pool.acquire() as conn:
            row = await repo.by_prefix(conn, prefix)
            if row is None or not domain.api_key_matches(bytes(row["secret_hash"]), secret):
                raise InvalidToken(INVALID_KEY)
            if not domain.api_key_usable(revoked_at=row["revoked_at"],
                                         expires_at=row["expires_at"],
                                         user_status=row["status"], now=now):
                raise InvalidToken(INVALID_KEY)
            if row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_EVERY:
                await repo.touch(conn, row["id"], now)
        return ApiKeyIdentity(user_id=str(row["user_id"]), role=Role(row["role"]),
                              key_id=str(row["id"]),
                              email_verified=row["email_verified_at"] is not None)

"""Event credentials: a user's own NATS identity for their event feed (`evt.<userId>.>`).

Created (the password shown once), listed, revoked; the NATS auth sidecar exports the live
ones (bcrypt hashes, which nats-server verifies itself) and re-renders the server's users
whenever `natsperms.EVENT_CREDENTIALS_CHANGED` is published. Permissions come from
`contracts.natsperms.third_party_permissions`: one durable consumer on the owner's events,
nothing else.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable

import bcrypt
from contracts import natsperms as np
from contracts.api import Empty, Ok
from pydantic import RootModel
from svckit.context import RequestContext
from svckit.logging import get_logger

from . import domain
from .errors import Conflict, NotFound, UserNotFound
from .service import Core

log = get_logger(__name__)
MAX_PER_USER = 10
BCRYPT_ROUNDS = 11  # nats-server checks it on every connect of the credential, not per message


class EventCredentialList(RootModel[list[np.EventCredential]]):
    """The caller's credentials as a JSON array, newest first."""


class EventCredentialGrants(RootModel[list[np.EventCredentialGrant]]):
    """Every live credential, for the NATS auth sidecar."""


def hash_password(password: str) -> str:
    """Return the bcrypt hash nats-server accepts in place of a password ($2b$ -> $2a$)."""
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    return "$2a$" + digest[4:]  # same algorithm; nats-server's parser wants the $2a$ tag


class NotFoundCredential(NotFound):
    """No such credential of this user."""

    def __init__(self) -> None:
        super().__init__("Event credential not found")


class EventCredentials:
    """Use cases of event credentials."""

    def __init__(self, core: Core, changed: Callable[[], Awaitable[None]],
                 nats_url: str) -> None:
        self.core = core
        self._changed = changed
        self._nats_url = nats_url

    @staticmethod
    def _uid(ctx: RequestContext) -> uuid.UUID:
        uid = domain.parse_uuid(ctx.require_verified())
        if uid is None:
            raise UserNotFound()
        return uid

    @staticmethod
    def _view(row) -> dict:
        return {"id": row["id"], "name": row["name"], "created_at": row["created_at"],
                "revoked_at": row["revoked_at"],
                **np.describe_credential(row["id"], str(row["user_id"]))}

    async def create(self, req: np.CreateEventCredential, ctx: RequestContext
                     ) -> np.EventCredentialSecret:
        """Mint a credential for the acting (verified) user; the password is in this reply only."""
        uid = self._uid(ctx)
        cid = np.new_credential_id()
        password = secrets.token_urlsafe(24)
        hashed = await asyncio.to_thread(hash_password, password)  # bcrypt is slow on purpose
        now = self.core.now()
        async with self.core.pool.acquire() as conn, conn.transaction():
            live = await conn.fetchval("SELECT count(*) FROM event_credentials WHERE user_id = $1"
                                       " AND revoked_at IS NULL", uid)
            if live >= MAX_PER_USER:
                raise Conflict("Too many event credentials; revoke one first")
            row = await conn.fetchrow(
                "INSERT INTO event_credentials (id, user_id, name, password_hash, created_at)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING *", cid, uid, req.name, hashed, now)
            await self.core.audit(conn, ctx, "event_credential_create", user_id=str(uid),
                                  detail={"credentialId": cid}, resource_id=cid)
        await self._announce()
        return np.EventCredentialSecret(**self._view(row), password=password,
                                        nats_url=self._nats_url)

    async def list(self, _: Empty, ctx: RequestContext) -> EventCredentialList:
        """List the acting user's credentials (never their passwords), newest first."""
        uid = self._uid(ctx)
        async with self.core.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM event_credentials WHERE user_id = $1"
                                    " ORDER BY created_at DESC, id", uid)
        return EventCredentialList([np.EventCredential(**self._view(r)) for r in rows])

    async def revoke(self, req: np.RevokeEventCredential, ctx: RequestContext) -> Ok:
        """Revoke one of the acting user's credentials; another user's is NOT_FOUND."""
        uid = self._uid(ctx)
        async with self.core.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE event_credentials SET revoked_at = $3 WHERE id = $1 AND user_id = $2"
                " AND revoked_at IS NULL RETURNING id", req.id, uid, self.core.now())
            if row is None:
                raise NotFoundCredential()
            await self.core.audit(conn, ctx, "event_credential_revoke", user_id=str(uid),
                                  detail={"credentialId": req.id}, resource_id=req.id)
        await self._announce()
        return Ok()

    async def export(self, _: Empty, __: RequestContext) -> EventCredentialGrants:
        """Every live credential (hashes only) for the NATS auth sidecar.

        Only the sidecar's NATS identity and auth's callers may reach this subject
        (contracts.natsperms); the gateway has no route to it.
        """
        async with self.core.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT e.id, e.user_id, e.password_hash FROM event_credentials e"
                " JOIN users u ON u.id = e.user_id"
                " WHERE e.revoked_at IS NULL AND u.status = 'active' ORDER BY e.id")
        return EventCredentialGrants([np.EventCredentialGrant(
            id=r["id"], user_id=str(r["user_id"]), password_hash=r["password_hash"])
            for r in rows])

    async def _announce(self) -> None:
        try:
            await self._changed()
        except Exception as exc:  # noqa: BLE001 - the sidecar also re-exports periodically
            log.warning("event_credentials.announce_failed", error=str(exc))


def register(micro, creds: EventCredentials) -> None:
    """Add the event-credential endpoints to the micro service (before it starts)."""
    micro.endpoint(np.CREATE_EVENT_CREDENTIAL, np.CreateEventCredential, creds.create)
    micro.endpoint(np.LIST_EVENT_CREDENTIALS, Empty, creds.list)
    micro.endpoint(np.REVOKE_EVENT_CREDENTIAL, np.RevokeEventCredential, creds.revoke)
    micro.endpoint(np.EXPORT_EVENT_CREDENTIALS, Empty, creds.export)

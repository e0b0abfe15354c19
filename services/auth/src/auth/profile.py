"""Profile and preferences of the acting user."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from contracts.api import Empty
from contracts.auth import Preferences, UpdateProfile, User
from svckit.context import RequestContext

from . import repository as repo
from .domain import parse_uuid
from .errors import UserNotFound, invalid_field
from .service import Core

_TIMEZONES: set[str] = set()


def _known_timezone(name: str) -> bool:
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones())
    return name in _TIMEZONES


def stored_preferences(raw: dict[str, Any] | None) -> Preferences:
    """Read stored preferences, filling defaults and dropping keys no longer known."""
    known = {k: v for k, v in (raw or {}).items() if k in Preferences.model_fields}
    return Preferences.model_validate(known)


class Profile:
    """Use cases on the acting user's own record."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def _uid(self, ctx: RequestContext):
        uid = parse_uuid(ctx.require_user())
        if uid is None:
            raise UserNotFound()
        return uid

    async def get(self, _: Empty, ctx: RequestContext) -> User:
        """Return the acting user's profile."""
        async with self.core.pool.acquire() as conn:
            user = await repo.user_by_id(conn, self._uid(ctx))
        if user is None:
            raise UserNotFound()
        return repo.to_user(user)

    async def update(self, req: UpdateProfile, ctx: RequestContext) -> User:
        """Change the given profile fields."""
        uid = self._uid(ctx)
        fields = req.model_dump(exclude_unset=True)
        if "name" in fields and fields["name"] is None:
            raise invalid_field("name", "Name cannot be empty")
        async with self.core.pool.acquire() as conn:
            if fields:
                user = await repo.update_user(conn, uid, self.core.now(), **fields)
            else:
                user = await repo.user_by_id(conn, uid)
        if user is None:
            raise UserNotFound()
        return repo.to_user(user)

    async def get_preferences(self, _: Empty, ctx: RequestContext) -> Preferences:
        """Return the acting user's preferences (defaults for what was never set)."""
        async with self.core.pool.acquire() as conn:
            user = await repo.user_by_id(conn, self._uid(ctx))
        if user is None:
            raise UserNotFound()
        return stored_preferences(user["preferences"])

    async def update_preferences(self, req: Preferences, ctx: RequestContext) -> Preferences:
        """Merge the given preferences into the stored ones."""
        if "timezone" in req.model_fields_set and not _known_timezone(req.timezone):
            raise invalid_field("timezone", "Unknown time zone")
        uid = self._uid(ctx)
        async with self.core.pool.acquire() as conn, conn.transaction():
            user = await repo.user_by_id(conn, uid, lock=True)
            if user is None:
                raise UserNotFound()
            merged = {**stored_preferences(user["preferences"]).model_dump(),
                      **req.model_dump(exclude_unset=True)}
            user = await repo.update_user(conn, uid, self.core.now(), preferences=merged)
        return stored_preferences(user["preferences"])

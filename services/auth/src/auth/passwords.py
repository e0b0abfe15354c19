"""argon2id password hashing, off the event loop (argon2-cffi releases the GIL)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hash and verify passwords with argon2id at a configured cost."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                  parallelism=parallelism, type=Type.ID)
        # verified against when the e-mail is unknown, so both paths cost the same
        self._dummy = self._ph.hash("not-a-real-password-0")

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of a password."""
        return await asyncio.to_thread(self._ph.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Check a password against a stored hash (or the dummy one when there is none)."""
        return await asyncio.to_thread(self._verify_sync, stored, password)

    def _verify_sync(self, stored: str | None, password: str) -> bool:
        try:
            self._ph.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored is not None

    def needs_rehash(self, stored: str) -> bool:
        """Return whether a hash was made at another cost (rehash after a good login)."""
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True

"""One adapter per linked account: Dhan (credentials opened on demand) or paper.

Also owns the order-update sockets of Dhan accounts. Credentials are opened only here and
only into the adapter; they are never logged or returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from svckit.logging import get_logger

from .adapters.base import BrokerAdapter, BrokerOrder
from .adapters.dhan.client import DhanClient, dhan_limits
from .adapters.dhan.execution import DhanAdapter
from .adapters.dhan.orderstream import OrderStream
from .adapters.paper.broker import PaperExchange
from .adapters.resilience import CircuitBreaker, Pacer
from .crypto import KeyRing, associated_data
from .settings import BrokerageSettings

log = get_logger(__name__)
UpdateFn = Callable[[str, BrokerOrder], Awaitable[None]]
AccountFn = Callable[[str], Awaitable[None]]


class Brokers:
    """Adapters and order streams by account id."""

    def __init__(self, settings: BrokerageSettings, keyring: KeyRing, paper: PaperExchange,
                 spawn: Callable[[Any], asyncio.Task]) -> None:
        self.settings = settings
        self.keyring = keyring
        self.paper = paper
        self._spawn = spawn
        self._adapters: dict[str, BrokerAdapter] = {}
        self._streams: dict[str, asyncio.Task] = {}
        self._retired: list[BrokerAdapter] = []
        self.on_update: UpdateFn | None = None
        self.on_auth_failed: AccountFn | None = None
        self.on_circuit_open: AccountFn | None = None

    def seal(self, user_id: str, account_id: str, secrets: dict[str, str]) -> bytes:
        """Encrypt an account's secrets for storage."""
        return self.keyring.seal(secrets, associated_data(user_id, account_id))

    def open(self, row: Any) -> dict[str, str]:
        """Decrypt an account's secrets."""
        return self.keyring.open(row["credentials"], associated_data(row["user_id"], str(row["id"])))

    def dhan_client(self, client_id: str, access_token: str, account_id: str = "") -> DhanClient:
        """Build a Dhan wire client with this service's pacing, breaker and retry policy."""
        s = self.settings

        def opened() -> None:
            if account_id and self.on_circuit_open:
                self._spawn(self.on_circuit_open(account_id))

        return DhanClient(
            s.dhan_api_base, client_id, access_token, timeout_s=s.dhan_timeout_s,
            pacer=Pacer(dhan_limits(s.order_rate_per_s, s.order_rate_per_min, s.data_rate_per_s),
                        enabled=s.pacing_enabled),
            breaker=CircuitBreaker(s.breaker_failures, s.breaker_cooldown_s),
            attempts=s.retry_attempts, backoff_base_s=s.backoff_base_s,
            backoff_cap_s=s.backoff_cap_s, on_circuit_open=opened)

    def adapter(self, row: Any) -> BrokerAdapter:
        """Return the adapter of an account row (built once, then cached)."""
        key = str(row["id"])
        found = self._adapters.get(key)
        if found is not None:
            return found
        if row["broker"] == "paper":
            adapter: BrokerAdapter = self.paper.adapter(key)
        else:
            secrets = self.open(row)
            adapter = DhanAdapter(self.dhan_client(row["dhan_client_id"], secrets["accessToken"], key))
        self._adapters[key] = adapter
        return adapter

    def breaker_state(self, account_id: str) -> str:
        """Return the circuit state of an account's adapter."""
        adapter = self._adapters.get(account_id)
        return adapter.client.breaker.state if isinstance(adapter, DhanAdapter) else "closed"

    def start_stream(self, row: Any) -> None:
        """Open the order-update socket of an active Dhan account (once)."""
        key = str(row["id"])
        if row["broker"] != "dhan" or not self.settings.order_stream or key in self._streams:
            return
        secrets = self.open(row)

        async def update(order: BrokerOrder) -> None:
            if self.on_update:
                await self.on_update(key, order)

        async def auth_failed() -> None:
            self._streams.pop(key, None)
            if self.on_auth_failed:
                await self.on_auth_failed(key)

        stream = OrderStream(self.settings.dhan_order_ws_url, row["dhan_client_id"],
                             secrets["accessToken"], on_update=update, on_auth_failed=auth_failed)
        self._streams[key] = self._spawn(stream.run())

    async def forget(self, account_id: str) -> None:
        """Drop an account's adapter and socket (after unlink, new token or reauth)."""
        task = self._streams.pop(account_id, None)
        if task is not None:
            task.cancel()
        adapter = self._adapters.pop(account_id, None)
        if adapter is not None:
            # A request may still be using it (e.g. the socket saw the token die mid-send):
            # close it once such a request has surely finished.
            self._retired.append(adapter)
            self._spawn(self._close_later(adapter))

    async def _close_later(self, adapter: BrokerAdapter) -> None:
        await asyncio.sleep(self.settings.dhan_timeout_s + 1)
        if adapter in self._retired:
            self._retired.remove(adapter)
            await adapter.close()

    async def close(self) -> None:
        """Close every adapter and socket."""
        for key in list(self._adapters) + list(self._streams):
            await self.forget(key)
        for adapter in self._retired:
            await adapter.close()
        self._retired.clear()

"""Browser market subscriptions for `/ws`: marketdata leases, NATS fan-out, conflation.

One `MarketFanout` per gateway process:

- `attach(client)` gives each WebSocket a `Conflator`; its sender loop awaits
  `conflator.next_batch()` and writes the frames. A slow client only ever holds the latest
  tick per instrument: newer ticks overwrite older unsent ones, so memory is bounded by its
  subscriptions and a fast client is never held up by a slow one.
- `subscribe(client, keys)` / `unsubscribe(client, keys)` / `detach(client)` keep a
  reference count per instrument inside the process; the first local subscriber opens one
  core-NATS subscription on `md.tick.<segment>.<securityId>` and the process takes a
  marketdata lease (owner = the process id) on it; the last one leaving closes both.
- `run_renewer()` (a background task) renews the process's leases before their TTL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from contracts import marketdata as md
from contracts import subjects
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from svckit.logging import get_logger
from svckit.nats import request

log = get_logger(__name__)

Key = tuple[str, str]


class Conflator:
    """The latest unsent payload per instrument of one client."""

    def __init__(self) -> None:
        self._latest: dict[Key, str] = {}
        self._ready = asyncio.Event()
        self.offered = 0
        self.conflated = 0

    def offer(self, key: Key, payload: str) -> None:
        """Queue a tick, replacing an unsent older tick of the same instrument."""
        self.offered += 1
        if key in self._latest:
            self.conflated += 1
        self._latest[key] = payload
        self._ready.set()

    async def next_batch(self) -> list[tuple[Key, str]]:
        """Wait for ticks and take everything pending (oldest-subscribed instrument first)."""
        await self._ready.wait()
        self._ready.clear()
        batch, self._latest = list(self._latest.items()), {}
        return batch

    def drop(self, keys: Iterable[Key]) -> None:
        """Forget pending ticks of instruments the client left."""
        for key in keys:
            self._latest.pop(key, None)


class MarketFanout:
    """Serve many browser clients from one NATS subscription and one lease per instrument."""

    def __init__(self, nc: Client, owner: str, lease_ttl_s: int = 60,
                 max_per_client: int = 200) -> None:
        self._nc = nc
        self._owner = owner
        self._ttl = lease_ttl_s
        self._max = max_per_client
        self._clients: dict[str, Conflator] = {}
        self._wants: dict[str, set[Key]] = {}
        self._watchers: dict[Key, set[str]] = {}
        self._subs: dict[Key, Subscription] = {}
        self._lock = asyncio.Lock()

    def attach(self, client: str) -> Conflator:
        """Register a WebSocket client and return its conflating queue."""
        conflator = self._clients.setdefault(client, Conflator())
        self._wants.setdefault(client, set())
        return conflator

    async def subscribe(self, client: str, keys: Iterable[Key]) -> None:
        """Start delivering ticks of instruments to a client."""
        keys = set(keys)
        wants = self._wants[client]
        if len(wants | keys) > self._max:
            raise ValueError(f"at most {self._max} instruments per connection")
        async with self._lock:
            new = [k for k in keys if not self._watchers.get(k)]
            for key in keys:
                self._watchers.setdefault(key, set()).add(client)
            wants |= keys
            if new:
                await self._lease(new)
                for key in new:
                    self._subs[key] = await self._nc.subscribe(subjects.tick(*key), cb=self._deliver)

    async def unsubscribe(self, client: str, keys: Iterable[Key]) -> None:
        """Stop delivering instruments to a client; release what nobody watches."""
        keys = set(keys) & self._wants.get(client, set())
        async with self._lock:
            self._wants[client] -= keys
            gone = []
            for key in keys:
                watchers = self._watchers.get(key, set())
                watchers.discard(client)
                if not watchers:
                    self._watchers.pop(key, None)
                    gone.append(key)
            for key in gone:
                sub = self._subs.pop(key, None)
                if sub is not None:
                    await sub.unsubscribe()
            if gone:
                await request(self._nc, md.RELEASE, md.ReleaseInstruments(
                    owner=self._owner, instruments=[_ref(k) for k in gone]), timeout=5)
        if client in self._clients:
            self._clients[client].drop(keys)

    async def detach(self, client: str) -> None:
        """Forget a disconnected client and everything it watched."""
        await self.unsubscribe(client, set(self._wants.get(client, set())))
        self._wants.pop(client, None)
        self._clients.pop(client, None)

    async def _deliver(self, msg: Msg) -> None:
        parts = msg.subject.split(".")
        key = (parts[2], parts[3])
        watchers = self._watchers.get(key)
        if not watchers:
            return
        # framed once per tick, the same object offered to every watcher
        frame = '{"type":"tick","data":' + msg.data.decode() + "}"
        for client in watchers:
            conflator = self._clients.get(client)
            if conflator is not None:
                conflator.offer(key, frame)

    async def _lease(self, keys: list[Key]) -> None:
        for i in range(0, len(keys), 1000):
            await request(self._nc, md.LEASE, md.LeaseInstruments(
                owner=self._owner, instruments=[_ref(k) for k in keys[i:i + 1000]],
                ttl_s=self._ttl), timeout=5)

    async def run_renewer(self) -> None:
        """Renew this process's leases every third of their TTL (a background task)."""
        while True:
            await asyncio.sleep(self._ttl / 3)  # renewal period
            keys = list(self._watchers)
            if keys:
                try:
                    await self._lease(keys)
                except Exception as exc:  # noqa: BLE001 - retried next period; the TTL has slack
                    log.warning("fanout.renew_failed", error=str(exc))

    @property
    def instruments(self) -> int:
        """Return how many instruments this process currently watches."""
        return len(self._watchers)


def _ref(key: Key) -> md.InstrumentRef:
    return md.InstrumentRef(segment=key[0], security_id=key[1])  # type: ignore[arg-type]

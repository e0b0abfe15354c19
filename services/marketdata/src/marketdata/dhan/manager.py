"""Spread the wanted instruments over feed connections within Dhan's limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from svckit.logging import get_logger

from .feed import FULL, QUOTE, TICKER, EventSink, FeedConnection, Key, TickSink

log = get_logger(__name__)
MODES = {"ticker": TICKER, "quote": QUOTE, "full": FULL}


class FeedManager:
    """Own up to `max_connections` feed sockets and keep them carrying `wanted`."""

    def __init__(self, url: str, sink: TickSink, events: EventSink, now: Callable[[], datetime],
                 *, mode: str = "full", max_connections: int = 5, per_connection: int = 5000,
                 per_message: int = 100, backoff_s: tuple[float, float] = (0.5, 30.0)) -> None:
        self._url = url
        self._sink = sink
        self._events = events
        self._now = now
        self._mode = MODES[mode]
        self._max_connections = max_connections
        self._per_connection = per_connection
        self._per_message = per_message
        self._backoff = backoff_s
        self.connections: list[FeedConnection] = []
        self.assigned: dict[Key, FeedConnection] = {}
        self.halted: str | None = None
        self.overflow: set[Key] = set()

    def mode_for(self, key: Key) -> int:
        """Indices have no depth or volume: ticker mode; everything else the configured mode."""
        return TICKER if key[0] == "IDX_I" else self._mode

    async def set_wanted(self, wanted: set[Key]) -> None:
        """Subscribe what is newly wanted and unsubscribe what no longer is."""
        if self.halted:
            return
        gone = [k for k in self.assigned if k not in wanted]
        by_conn: dict[int, list[Key]] = {}
        for key in gone:
            by_conn.setdefault(self.assigned.pop(key).index, []).append(key)
        for index, keys in by_conn.items():
            await self.connections[index].unsubscribe(keys)
        self.overflow &= wanted
        new = [k for k in sorted(wanted) if k not in self.assigned]
        adds: dict[int, dict[Key, int]] = {}
        for key in new:
            conn = self._least_loaded(adds)
            if conn is None:
                self.overflow.add(key)
                continue
            self.assigned[key] = conn
            adds.setdefault(conn.index, {})[key] = self.mode_for(key)
        if self.overflow:
            log.warning("feed.over_capacity", dropped=len(self.overflow))
        for index, keys in adds.items():
            conn = self.connections[index]
            await conn.subscribe(keys)
            conn.start()

    def _least_loaded(self, adds: dict[int, dict[Key, int]]) -> FeedConnection | None:
        def load(c: FeedConnection) -> int:
            return len(c.instruments) + len(adds.get(c.index, {}))

        open_ = [c for c in self.connections if load(c) < self._per_connection]
        # Fill existing sockets before opening another: connections are the scarcer limit.
        if open_:
            return min(open_, key=load)
        if len(self.connections) < self._max_connections:
            conn = FeedConnection(len(self.connections), self._url, self._sink, self._events,
                                  self._now, self._fatal, self._per_message, self._backoff)
            self.connections.append(conn)
            return conn
        return None

    async def _fatal(self, code: int, reason: str) -> None:
        if self.halted:
            return
        self.halted = f"{code}: {reason}"
        log.error("feed.halted", code=code, reason=reason)
        await self._events("halted", {"connection": -1, "code": code, "reason": reason,
                                      "instruments": len(self.assigned)})
        for conn in self.connections:
            await conn.stop()

    async def resubscribe(self, keys: list[Key]) -> None:
        """Resubscribe instruments on the sockets that carry them."""
        by_conn: dict[int, list[Key]] = {}
        for key in keys:
            conn = self.assigned.get(key)
            if conn is not None:
                by_conn.setdefault(conn.index, []).append(key)
        for index, chunk in by_conn.items():
            await self.connections[index].resubscribe(chunk)

    async def stop(self) -> None:
        """Close every socket."""
        for conn in self.connections:
            await conn.stop()

    @property
    def connected(self) -> int:
        """Return how many sockets are currently open."""
        return sum(1 for c in self.connections if c.ws is not None)

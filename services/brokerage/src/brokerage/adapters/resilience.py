"""Pacing under a broker's rate limits, a circuit breaker, and backoff with jitter.

All three are per linked account (ARCHITECTURE.md §4) and use the monotonic clock: they
protect a real remote server in real time, whatever the business clock says.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Window:
    """At most `limit` events per `period` seconds."""

    limit: int
    period: float
    stamps: deque = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        """Return how long to wait before one more event fits."""
        while self.stamps and now - self.stamps[0] >= self.period:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            return 0.0
        return self.period - (now - self.stamps[0])


class Pacer:
    """Sliding-window pacing per category (orders, data, quote, non-trading)."""

    def __init__(self, limits: dict[str, list[tuple[int, float]]], enabled: bool = True,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._windows = {cat: [Window(n, p) for n, p in spec] for cat, spec in limits.items()}
        self._locks = {cat: asyncio.Lock() for cat in limits}
        self.enabled = enabled
        self._now = now

    async def acquire(self, category: str) -> None:
        """Wait until one more request of `category` fits every window."""
        windows = self._windows.get(category)
        if not self.enabled or not windows:
            return
        async with self._locks[category]:
            while True:
                now = self._now()
                wait = max(w.wait_time(now) for w in windows)
                if wait <= 0:
                    for w in windows:
                        w.stamps.append(now)
                    return
                await asyncio.sleep(wait)


class CircuitOpen(Exception):
    """The breaker is open: calls fail fast until the cooldown ends."""


class CircuitBreaker:
    """Open after `failures` consecutive transient failures; one probe after `cooldown_s`."""

    def __init__(self, failures: int = 5, cooldown_s: float = 15.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._threshold = failures
        self._cooldown = cooldown_s
        self._now = now
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        """Return closed, open or half_open."""
        if self._opened_at is None:
            return "closed"
        if self._now() - self._opened_at >= self._cooldown:
            return "half_open"
        return "open"

    def before(self) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        state = self.state
        if state == "open" or (state == "half_open" and self._probing):
            raise CircuitOpen("broker circuit is open")
        if state == "half_open":
            self._probing = True

    def success(self) -> None:
        """Record a call that reached the broker and got an answer."""
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> bool:
        """Record a transient failure; return True when this failure opened the circuit."""
        self._failures += 1
        was_open = self._opened_at is not None
        if self._probing or self._failures >= self._threshold:
            self._opened_at = self._now()
            self._probing = False
            return not was_open
        return False


def backoff(attempt: int, base: float = 0.2, cap: float = 3.0,
            rng: Callable[[], float] = random.random) -> float:
    """Return a 'full jitter' delay for retry number `attempt` (0-based)."""
    return rng() * min(cap, base * (2 ** attempt))

"""Dhan's published per-user rate limits, as sliding windows over wall time."""

from __future__ import annotations

import time
from collections import deque

# category -> ((window seconds, max requests), ...) per API.md 7.1 (orders: 10/s since 2026-03-21)
LIMITS: dict[str, tuple[tuple[float, int], ...]] = {
    "order": ((1, 10), (60, 250), (3600, 1000), (86400, 7000)),
    "data": ((1, 5), (86400, 100_000)),
    "quote": ((1, 1),),
    "non_trading": ((1, 20),),
}


def category(method: str, path: str) -> str:
    """Return the rate-limit category of a /v2 request."""
    if path.startswith("/v2/marketfeed"):
        return "quote"
    if path.startswith(("/v2/charts", "/v2/optionchain", "/v2/instrument")):
        return "data"
    if method in ("POST", "PUT", "DELETE") and path.startswith(
            ("/v2/orders", "/v2/super/orders", "/v2/forever/orders")):
        return "order"
    return "non_trading"


class RateLimiter:
    """Count requests per (client, category) and refuse those beyond any window."""

    def __init__(self, enabled: bool = True, wall=time.monotonic) -> None:
        self.enabled = enabled
        self.wall = wall
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def allow(self, client_id: str, cat: str) -> bool:
        """Record a request and tell whether it is within every window."""
        if not self.enabled:
            return True
        now = self.wall()
        hits = self._hits.setdefault((client_id, cat), deque())
        longest = max(w for w, _ in LIMITS[cat])
        while hits and hits[0] <= now - longest:
            hits.popleft()
        for window, limit in LIMITS[cat]:
            recent = sum(1 for t in reversed(hits) if t > now - window) if window < longest \
                else len(hits)
            if recent >= limit:
                return False
        hits.append(now)
        return True

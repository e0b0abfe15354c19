"""Per-instrument staleness watchdog: resubscribe, then REST quote, then `md.feed.stale`.

Silence is measured on the business clock from the last feed tick received (or from when
the instrument was first watched), only while its segment is open. Each escalation step is
an event; a feed tick after any step is a `recovered` event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from .calendar import Calendar

Key = tuple[str, str]
QUIET, RESUBSCRIBED, FALLBACK, STALE = 0, 1, 2, 3


@dataclass
class _Watch:
    since: datetime
    last_tick: datetime | None = None
    step: int = QUIET
    step_at: datetime | None = None


class Watchdog:
    """Escalate instruments whose feed went silent in market hours."""

    def __init__(self, calendar: Calendar, now: Callable[[], datetime], *, stale_after_s: float,
                 step_s: float, resubscribe: Callable[[list[Key]], Awaitable[None]],
                 fallback: Callable[[list[Key]], Awaitable[dict]],
                 emit: Callable[[str, dict], Awaitable[None]]) -> None:
        self._cal = calendar
        self._now = now
        self._after = stale_after_s
        self._step = step_s
        self._resubscribe = resubscribe
        self._fallback = fallback
        self._emit = emit
        self.watches: dict[Key, _Watch] = {}
        self._recovered: list[tuple[Key, _Watch]] = []

    def set_wanted(self, keys: set[Key]) -> None:
        """Watch exactly these instruments."""
        now = self._now()
        for key in keys - self.watches.keys():
            self.watches[key] = _Watch(since=now)
        for key in self.watches.keys() - keys:
            del self.watches[key]

    def seen(self, key: Key, at: datetime) -> None:
        """Record a feed tick (hot path: no I/O)."""
        w = self.watches.get(key)
        if w is None:
            return
        w.last_tick = at
        if w.step != QUIET:
            self._recovered.append((key, _Watch(w.since, w.last_tick, w.step, w.step_at)))
            w.step, w.step_at = QUIET, None

    @property
    def stale_count(self) -> int:
        """Return how many instruments are at the final step."""
        return sum(1 for w in self.watches.values() if w.step == STALE)

    def _fields(self, key: Key, w: _Watch, now: datetime) -> dict:
        ref = w.last_tick or w.since
        return {"segment": key[0], "security_id": key[1], "last_tick_at": w.last_tick,
                "silent_s": round((now - ref).total_seconds(), 3)}

    async def check(self) -> None:
        """Run one round of escalation (call periodically)."""
        now = self._now()
        recovered, self._recovered = self._recovered, []
        for key, w in recovered:
            await self._emit("recovered", self._fields(key, w, now))
        resub, fallback, stale = [], [], []
        for key, w in self.watches.items():
            if not self._cal.is_open(key[0], now):
                w.since = now  # the session clock restarts at the next open
                continue
            silent = (now - max(w.last_tick or w.since, w.since)).total_seconds()
            if w.step == QUIET and silent >= self._after:
                resub.append(key)
            elif w.step in (RESUBSCRIBED, FALLBACK) and w.step_at is not None and (
                    now - w.step_at).total_seconds() >= self._step:
                (fallback if w.step == RESUBSCRIBED else stale).append(key)
        if resub:
            await self._resubscribe(resub)
            for key in resub:
                self._advance(key, RESUBSCRIBED, now)
                await self._emit("resubscribed", self._fields(key, self.watches[key], now))
        if fallback:
            quotes = await self._fallback(fallback)
            for key in fallback:
                self._advance(key, FALLBACK, now)
                tick = quotes.get(key)
                await self._emit("fallback", {**self._fields(key, self.watches[key], now),
                                              "ltp": tick.ltp if tick else None})
        for key in stale:
            self._advance(key, STALE, now)
            await self._emit("stale", self._fields(key, self.watches[key], now))

    def _advance(self, key: Key, step: int, now: datetime) -> None:
        w = self.watches[key]
        w.step, w.step_at = step, now

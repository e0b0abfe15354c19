"""The clock business logic asks instead of the wall (ARCHITECTURE.md "Time").

In production it is the real time (UTC inside, IST for sessions). In the local demo and in
tests every service follows the simulator's market clock: `GET <clock_url>` answers the
mapping `sim = anchorSim + (wall - anchorWall) * speed` (frozen when paused), which this
clock refreshes in the background and applies locally, so `now()` never does I/O.
Security lifetimes (tokens, lockouts) always use the wall clock: they protect real people
in real time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from .logging import get_logger

IST = ZoneInfo("Asia/Kolkata")
log = get_logger(__name__)


class Clock(Protocol):
    """Something that tells the business time."""

    def now(self) -> datetime:
        """Return the current business time, UTC-aware."""
        ...


class WallClock:
    """The real time."""

    def now(self) -> datetime:
        """Return the wall clock in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told (unit tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """Return the set time."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move to an instant."""
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward."""
        self._at += delta


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


class SimClock:
    """Follow the Dhan simulator's market clock."""

    def __init__(self, url: str, refresh_s: float = 2.0) -> None:
        self._url = url
        self._refresh_s = refresh_s
        self._anchor_sim = datetime.now(UTC)
        self._anchor_wall = datetime.now(UTC)
        self._speed = 1.0
        self._paused = False
        self.epoch = -1
        self._task: asyncio.Task | None = None

    def now(self) -> datetime:
        """Return the simulated market time."""
        if self._paused:
            return self._anchor_sim
        return self._anchor_sim + (datetime.now(UTC) - self._anchor_wall) * self._speed

    async def sync(self) -> None:
        """Fetch the simulator's clock mapping once."""
        async with httpx.AsyncClient(timeout=3) as http:
            data = (await http.get(self._url)).raise_for_status().json()
        self._anchor_sim = _parse(data["anchorSim"])
        self._anchor_wall = _parse(data["anchorWall"])
        self._speed = float(data["speed"])
        self._paused = bool(data["paused"])
        if data.get("epoch") != self.epoch:
            log.info("clock.synced", now=self.now().isoformat(), speed=self._speed)
        self.epoch = data.get("epoch", 0)

    async def start(self) -> None:
        """Sync now (waiting for the simulator if it is still starting) and keep following it."""
        for attempt in range(60):
            try:
                await self.sync()
                break
            except (httpx.HTTPError, KeyError, ValueError):
                if attempt == 59:
                    raise
                await asyncio.sleep(0.5)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        """Stop following."""
        if self._task:
            self._task.cancel()

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.sync()
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                log.warning("clock.sync_failed", error=str(exc))


def ist(dt: datetime) -> datetime:
    """Return an instant in IST."""
    return dt.astimezone(IST)

"""The simulator's market clock: wall time mapped onto a simulated IST timeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")
DEFAULT_START = datetime(2025, 7, 23, 9, 15, tzinfo=IST)


def iso_utc(ts: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC with a trailing Z."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (Z or offset; naive means IST) into an aware datetime."""
    ts = datetime.fromisoformat(text)
    return ts if ts.tzinfo else ts.replace(tzinfo=IST)


@dataclass
class SimClock:
    """sim_now = anchor_sim + (wall_now - anchor_wall) * speed; frozen while paused."""

    anchor_sim: datetime = DEFAULT_START
    speed: float = 1.0
    paused: bool = False
    wall: callable = time.time
    anchor_wall: float = field(default=0.0)
    epoch: int = 0

    def __post_init__(self) -> None:
        if not self.anchor_wall:
            self.anchor_wall = self.wall()

    def now(self) -> datetime:
        """Return the simulated time (aware, UTC)."""
        if self.paused:
            return self.anchor_sim.astimezone(UTC)
        elapsed = (self.wall() - self.anchor_wall) * self.speed
        return (self.anchor_sim + timedelta(seconds=elapsed)).astimezone(UTC)

    def now_ist(self) -> datetime:
        """Return the simulated time in IST."""
        return self.now().astimezone(IST)

    def set(self, at: datetime | None = None, speed: float | None = None,
            paused: bool | None = None) -> None:
        """Re-anchor the clock; any omitted field keeps its current value."""
        current = self.now()
        self.anchor_sim = at if at is not None else current
        self.anchor_wall = self.wall()
        if speed is not None:
            if speed <= 0:
                raise ValueError("speed must be positive")
            self.speed = float(speed)
        if paused is not None:
            self.paused = bool(paused)
        self.epoch += 1

    def wall_seconds_until(self, target: datetime) -> float:
        """Return how many wall seconds pass before sim time reaches target (inf if paused)."""
        delta = (target - self.now()).total_seconds()
        if delta <= 0:
            return 0.0
        return float("inf") if self.paused else delta / self.speed

    def to_json(self) -> dict:
        """Render the clock in the shape other services follow (GET /sim/clock)."""
        now = self.now()
        return {
            "now": iso_utc(now),
            "nowIst": now.astimezone(IST).isoformat(timespec="milliseconds"),
            "speed": self.speed,
            "paused": self.paused,
            "anchorSim": iso_utc(self.anchor_sim),
            "anchorWall": iso_utc(datetime.fromtimestamp(self.anchor_wall, UTC)),
            "epoch": self.epoch,
        }

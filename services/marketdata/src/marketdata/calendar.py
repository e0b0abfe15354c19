"""Market calendar: sessions, holidays, special sessions and square-off times as dated data.

The data lives in `data/calendar.toml` (each row with its source). All answers are UTC
instants; sessions are defined in IST. Pure: no clock, no I/O after loading.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
EXCHANGE_OF = {"IDX_I": "NSE", "NSE_EQ": "NSE", "NSE_FNO": "NSE", "NSE_CURRENCY": "NSE",
               "BSE_EQ": "BSE", "BSE_FNO": "BSE", "BSE_CURRENCY": "BSE", "MCX_COMM": "MCX"}
WINTER_MONTHS = (12, 1, 2)


def _t(text: str) -> time:
    return time.fromisoformat(text)


@dataclass(frozen=True)
class Window:
    """One trading window of one day."""

    open: datetime
    close: datetime
    kind: str
    source: str


@dataclass
class _Rule:
    segments: tuple[str, ...]
    effective_from: date
    row: dict


@dataclass
class Calendar:
    """Answer session questions per exchange segment from the loaded data."""

    sessions: list[_Rule] = field(default_factory=list)
    square_offs: list[_Rule] = field(default_factory=list)
    holidays: dict[tuple[str, date], tuple[str, str]] = field(default_factory=dict)
    specials: dict[tuple[str, date], list[dict]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Calendar:
        """Load the calendar from a TOML file (default: the packaged data)."""
        text = (path.read_text() if path else
                resources.files("marketdata").joinpath("data/calendar.toml").read_text())
        raw = tomllib.loads(text)
        cal = cls()
        for row in raw.get("session", []):
            cal.sessions.append(_Rule(tuple(row["segments"]), row["effective_from"], row))
        for row in raw.get("square_off", []):
            cal.square_offs.append(_Rule(tuple(row["segments"]), row["effective_from"], row))
        for group in raw.get("holiday", []):
            for item in group["dates"]:
                for exch in group["exchanges"]:
                    cal.holidays[(exch, item["date"])] = (item["name"], item["source"])
        for group in raw.get("special", []):
            for item in group["sessions"]:
                for exch in group["exchanges"]:
                    cal.specials.setdefault((exch, item["date"]), []).append(item)
        cal.sessions.sort(key=lambda r: r.effective_from, reverse=True)
        cal.square_offs.sort(key=lambda r: r.effective_from, reverse=True)
        return cal

    @staticmethod
    def _rule(rules: list[_Rule], segment: str, day: date, product: str | None = None) -> dict | None:
        for rule in rules:
            if segment in rule.segments and rule.effective_from <= day and (
                    product is None or product in rule.row.get("products", ())):
                return rule.row
        return None

    def holiday(self, segment: str, day: date) -> str | None:
        """Return the holiday name when the segment's exchange is closed for the day."""
        hit = self.holidays.get((EXCHANGE_OF.get(segment, "NSE"), day))
        return hit[0] if hit else None

    def windows(self, segment: str, day: date) -> list[Window]:
        """Return the day's trading windows (empty on weekends and holidays)."""
        exchange = EXCHANGE_OF.get(segment, "NSE")
        special = self.specials.get((exchange, day))
        if special and exchange != "MCX":
            return [Window(_at(day, s["open"]), _at(day, s["close"]), s["kind"], s["source"])
                    for s in special]
        rule = self._rule(self.sessions, segment, day)
        if rule is None or day.weekday() >= 5:
            return []
        if exchange != "MCX" and (exchange, day) in self.holidays:
            return []
        close = rule.get("close_winter") if day.month in WINTER_MONTHS else None
        return [Window(_at(day, rule["open"]), _at(day, close or rule["close"]), "normal",
                       rule["source"])]

    def window_at(self, segment: str, at: datetime) -> Window | None:
        """Return the window running at an instant, if any."""
        day = at.astimezone(IST).date()
        for w in self.windows(segment, day):
            if w.open <= at < w.close:
                return w
        return None

    def is_open(self, segment: str, at: datetime) -> bool:
        """Tell whether the segment trades at an instant."""
        return self.window_at(segment, at) is not None

    def next_open(self, segment: str, after: datetime, horizon_days: int = 30) -> datetime | None:
        """Return the first window opening strictly after an instant."""
        for w in self._upcoming(segment, after, horizon_days):
            if w.open > after:
                return w.open
        return None

    def next_close(self, segment: str, after: datetime, horizon_days: int = 30) -> datetime | None:
        """Return the first window close strictly after an instant."""
        for w in self._upcoming(segment, after, horizon_days):
            if w.close > after:
                return w.close
        return None

    def _upcoming(self, segment: str, after: datetime, horizon_days: int):
        day = after.astimezone(IST).date()
        for offset in range(horizon_days + 1):
            yield from self.windows(segment, day + timedelta(days=offset))

    def session_bounds(self, segment: str, day: date) -> tuple[datetime, datetime] | None:
        """Return (first open, last close) of a day, or None when closed."""
        ws = self.windows(segment, day)
        return (ws[0].open, ws[-1].close) if ws else None

    def square_off(self, segment: str, product: str, day: date) -> tuple[datetime | None, datetime | None, str]:
        """Return (broker, platform) square-off instants of an intraday product on a day."""
        rule = self._rule(self.square_offs, segment, day, product)
        windows = self.windows(segment, day)
        if rule is None or not windows:
            return None, None, rule["source"] if rule else ""
        if windows[0].kind != "normal":
            # A special session ends early: square off ahead of its close like on a normal day.
            close = windows[-1].close
            return close - timedelta(minutes=10), close - timedelta(minutes=15), \
                "special session: close - 10 min (broker) / - 15 min (platform) [assumed]"
        winter = day.month in WINTER_MONTHS
        broker = rule.get("broker_winter") if winter else None
        platform = rule.get("platform_winter") if winter else None
        return (_at(day, broker or rule["broker"]), _at(day, platform or rule["platform"]),
                rule["source"])


def _at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, _t(hhmm), IST).astimezone(UTC)

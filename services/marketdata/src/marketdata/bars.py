"""Ticks to bars: 1-minute IST buckets inside the session, rolled up to 5m/15m/1h/1d.

Pure and synchronous: the caller feeds ticks and clock readings and publishes what comes
back. A 1-minute bar closes on the first tick of a later minute or when the clock passes its
end plus a grace; once emitted it is never emitted again. A late tick for a closed minute
yields a `BarCorrected` (and corrections of published roll-ups that contain that minute),
never a silent rewrite. Volume is the delta of the feed's cumulative day volume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from contracts.events.marketdata import Bar, BarCorrected, Tick

IST_S = 19_800
ROLLUPS = {"5m": 300, "15m": 900, "1h": 3600, "1d": 86_400}
Bounds = Callable[[str, date], tuple[datetime, datetime] | None]
Out = Bar | BarCorrected


@dataclass(slots=True)
class _Bar:
    start: int
    end: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    ticks: int
    last_t: int
    oi: int | None = None


@dataclass
class _State:
    segment: str
    security_id: str
    day: int = -1
    bounds: tuple[int, int] | None = None
    last_vol: int | None = None
    last_key: tuple[int, int, int] | None = None
    cur: _Bar | None = None
    closed: dict[int, _Bar] = field(default_factory=dict)
    last_closed: int = -1
    open_rollups: dict[str, int] = field(default_factory=dict)
    published: dict[tuple[str, int], Bar] = field(default_factory=dict)


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class BarAggregator:
    """Build bars for many instruments; `on_tick`/`on_time` return bars to publish."""

    def __init__(self, bounds: Bounds, grace_s: float = 2.0,
                 rollups: tuple[str, ...] = tuple(ROLLUPS)) -> None:
        self._bounds = bounds
        self._grace = grace_s
        self._rollups = rollups
        self._states: dict[tuple[str, str], _State] = {}
        self._bounds_cache: dict[tuple[str, int], tuple[int, int] | None] = {}
        self.dropped_late = 0
        self._fix_seq = 0

    def _session(self, segment: str, day: int) -> tuple[int, int] | None:
        key = (segment, day)
        if key not in self._bounds_cache:
            b = self._bounds(segment, date.fromordinal(day + 719_163))
            self._bounds_cache[key] = (int(b[0].timestamp()), int(b[1].timestamp())) if b else None
        return self._bounds_cache[key]

    def on_tick(self, tick: Tick, now: datetime) -> list[Out]:
        """Apply one tick; return bars that closed and corrections it caused."""
        t = int(tick.ltt.timestamp())
        key = (tick.segment, tick.security_id)
        st = self._states.get(key)
        if st is None:
            st = self._states[key] = _State(tick.segment, tick.security_id)
        cur = st.cur
        if cur is not None and cur.start <= t < cur.start + 60:
            # Fast path: another trade in the open minute (most ticks).
            delta = self._volume_delta(st, tick, t)
            if delta is not None:
                if tick.ltp > cur.high:
                    cur.high = tick.ltp
                elif tick.ltp < cur.low:
                    cur.low = tick.ltp
                if t >= cur.last_t:
                    cur.close, cur.last_t = tick.ltp, t
                cur.volume += delta
                cur.ticks += 1
                if tick.oi is not None:
                    cur.oi = tick.oi
            return []
        day = (t + IST_S) // 86_400
        out: list[Out] = []
        if day != st.day:
            if day < st.day:
                self.dropped_late += 1
                return out
            if st.cur is not None:
                out += self._close(st, now)
            out += self._flush_rollups(st, now)
            st.day, st.bounds, st.last_vol, st.last_key = day, self._session(tick.segment, day), None, None
            st.closed, st.published, st.last_closed = {}, {}, -1
        if st.bounds is None or not st.bounds[0] <= t < st.bounds[1]:
            return out
        delta = self._volume_delta(st, tick, t)
        if delta is None:
            return out
        minute = t - t % 60
        cur = st.cur
        if cur is not None and minute == cur.start:
            cur.high, cur.low = max(cur.high, tick.ltp), min(cur.low, tick.ltp)
            if t >= cur.last_t:
                cur.close, cur.last_t = tick.ltp, t
            cur.volume += delta
            cur.ticks += 1
            cur.oi = tick.oi if tick.oi is not None else cur.oi
        elif minute > st.last_closed and (cur is None or minute > cur.start):
            if cur is not None:
                out += self._close(st, now)
            end = min(minute + 60, st.bounds[1])
            st.cur = _Bar(minute, end, tick.ltp, tick.ltp, tick.ltp, tick.ltp, delta, 1, t, tick.oi)
        else:
            out += self._late(st, minute, tick, t, delta, now)
        return out

    @staticmethod
    def _volume_delta(st: _State, tick: Tick, t: int) -> int | None:
        if tick.volume is None:
            return 0
        ident = (t, tick.volume, tick.ltp)
        if ident == st.last_key:
            return None  # the same trade repeated (e.g. a depth-only update)
        st.last_key = ident
        if st.last_vol is None:
            # Started mid-session: the day's volume so far belongs to earlier minutes.
            delta = tick.volume if t < st.bounds[0] + 60 else tick.ltq
        else:
            delta = max(0, tick.volume - st.last_vol)
        st.last_vol = max(st.last_vol or 0, tick.volume)
        return delta

    def on_time(self, now: datetime) -> list[Out]:
        """Close bars whose end plus the grace has passed on the clock."""
        cutoff = now.timestamp() - self._grace
        out: list[Out] = []
        for st in self._states.values():
            if st.cur is not None and st.cur.end <= cutoff:
                out += self._close(st, now)
            for interval, bucket in list(st.open_rollups.items()):
                if self._bucket_end(st, interval, bucket) <= cutoff:
                    out += self._emit_rollup(st, interval, bucket, now)
        return out

    def flush(self, now: datetime) -> list[Out]:
        """Close every open bar now (shutdown, end of a replay)."""
        out: list[Out] = []
        for st in self._states.values():
            if st.cur is not None:
                out += self._close(st, now)
            out += self._flush_rollups(st, now)
        return out

    def _flush_rollups(self, st: _State, now: datetime) -> list[Out]:
        out: list[Out] = []
        for interval, bucket in list(st.open_rollups.items()):
            out += self._emit_rollup(st, interval, bucket, now)
        return out

    def _close(self, st: _State, now: datetime) -> list[Out]:
        bar, st.cur = st.cur, None
        assert bar is not None
        st.closed[bar.start] = bar
        st.last_closed = bar.start
        out: list[Out] = [self._event(st, "1m", bar, now)]
        for interval in self._rollups:
            bucket = self._bucket(st, interval, bar.start)
            pending = st.open_rollups.get(interval)
            if pending is not None and pending != bucket:
                out += self._emit_rollup(st, interval, pending, now)
            st.open_rollups[interval] = bucket
            if bar.end >= self._bucket_end(st, interval, bucket):
                out += self._emit_rollup(st, interval, bucket, now)
        return out

    def _bucket(self, st: _State, interval: str, start: int) -> int:
        if interval == "1d":
            return st.day * 86_400 - IST_S
        width, opened = ROLLUPS[interval], st.bounds[0]
        return opened + (start - opened) // width * width

    def _bucket_end(self, st: _State, interval: str, bucket: int) -> int:
        close = st.bounds[1]
        return close if interval == "1d" else min(bucket + ROLLUPS[interval], close)

    def _rollup(self, st: _State, interval: str, bucket: int) -> _Bar | None:
        end = self._bucket_end(st, interval, bucket)
        parts = [b for s, b in sorted(st.closed.items()) if bucket <= s < end]
        if not parts:
            return None
        return _Bar(bucket, end, parts[0].open, max(b.high for b in parts),
                    min(b.low for b in parts), parts[-1].close, sum(b.volume for b in parts),
                    sum(b.ticks for b in parts), parts[-1].last_t, parts[-1].oi)

    def _emit_rollup(self, st: _State, interval: str, bucket: int, now: datetime) -> list[Out]:
        st.open_rollups.pop(interval, None)
        if (interval, bucket) in st.published:
            return []
        bar = self._rollup(st, interval, bucket)
        return [self._event(st, interval, bar, now)] if bar else []

    def _late(self, st: _State, minute: int, tick: Tick, t: int, delta: int,
              now: datetime) -> list[Out]:
        bar = st.closed.get(minute)
        if bar is None:
            self.dropped_late += 1  # no bar existed for that minute; never invent one late
            return []
        before = replace(bar)
        bar.high, bar.low = max(bar.high, tick.ltp), min(bar.low, tick.ltp)
        if t >= bar.last_t:
            bar.close, bar.last_t = tick.ltp, t
        bar.volume += delta
        bar.ticks += 1
        if (before.high, before.low, before.close, before.volume) == (
                bar.high, bar.low, bar.close, bar.volume):
            return []
        out: list[Out] = [self._correction(st, "1m", bar, now)]
        for interval in self._rollups:
            bucket = self._bucket(st, interval, minute)
            if (interval, bucket) in st.published:
                rolled = self._rollup(st, interval, bucket)
                if rolled is not None:
                    out.append(self._correction(st, interval, rolled, now))
        return out

    def _event(self, st: _State, interval: str, bar: _Bar, now: datetime) -> Bar:
        event = Bar(event_id=f"bar-{interval}-{st.segment}-{st.security_id}-{bar.start}",
                    ts_event=_dt(bar.end), ts_init=now, interval=interval, segment=st.segment,
                    security_id=st.security_id, start=_dt(bar.start), end=_dt(bar.end),
                    open=bar.open, high=bar.high, low=bar.low, close=bar.close,
                    volume=bar.volume, oi=bar.oi, ticks=bar.ticks)
        st.published[(interval, bar.start)] = event
        return event

    def _correction(self, st: _State, interval: str, bar: _Bar, now: datetime) -> BarCorrected:
        previous = st.published.get((interval, bar.start))
        revised = self._event(st, interval, bar, now)
        self._fix_seq += 1
        return BarCorrected(event_id=f"barfix-{revised.event_id}-{self._fix_seq}",
                            ts_event=revised.ts_event, ts_init=now, bar=revised,
                            previous=previous or revised)

"""Historical candles (daily and intraday) derived from the same paths the feed replays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dhansim.clock import IST
from dhansim.instruments import Instrument
from dhansim.prices import PriceLibrary
from dhansim.synth import SESSION_OPEN, level, rng_for, round_tick

INTERVALS = (1, 5, 15, 25, 60)
PATH_DAYS = 30  # older synthetic days use a cheap closed-form candle (same close) instead of a path


def empty(oi: bool) -> dict:
    """Return the candle arrays with no candles (Dhan's answer for unknown ids)."""
    out = {"open": [], "high": [], "low": [], "close": [], "volume": [], "timestamp": []}
    if oi:
        out["open_interest"] = []
    return out


def _append(out: dict, bar: tuple, oi: bool, oi_value: int = 0) -> None:
    ts, o, h, low, c, v = bar
    out["open"].append(o)
    out["high"].append(h)
    out["low"].append(low)
    out["close"].append(c)
    out["volume"].append(int(v))
    out["timestamp"].append(int(ts))
    if oi:
        out["open_interest"].append(oi_value)


def intraday(lib: PriceLibrary, inst: Instrument, start: datetime, end: datetime,
             interval: int, now: datetime, oi: bool) -> dict:
    """Return candles of `interval` minutes with start in [start, end], completed by now."""
    out = empty(oi)
    day = start.astimezone(IST).date()
    last = min(end, now).astimezone(IST).date()
    width = interval * 60
    while day <= last:
        path = lib.path(inst.segment, inst.security_id, day)
        midnight = datetime.combine(day, time(), IST)
        buckets: dict[int, list] = {}
        for i, t in enumerate(path.times):
            slot = SESSION_OPEN + (t - SESSION_OPEN) // width * width
            bar = buckets.get(slot)
            p, v = path.prices[i], path.sizes[i]
            if bar is None:
                buckets[slot] = [slot, p, p, p, p, v, path.ois[i]]
            else:
                bar[2], bar[3], bar[4] = max(bar[2], p), min(bar[3], p), p
                bar[5] += v
                bar[6] = path.ois[i]
        for slot in sorted(buckets):
            b = buckets[slot]
            bar_start = midnight + timedelta(seconds=slot)
            if bar_start < start or bar_start > end or bar_start + timedelta(seconds=width) > now:
                continue
            _append(out, (bar_start.timestamp(), *b[1:6]), oi, b[6])
        day += timedelta(days=1)
    return out


def daily(lib: PriceLibrary, inst: Instrument, start: date, end_exclusive: date,
          now: datetime, oi: bool) -> dict:
    """Return daily candles for dates in [start, end_exclusive) that have closed by now."""
    out = empty(oi)
    now_ist = now.astimezone(IST)
    real = lib.daily(inst)
    day = start
    while day < end_exclusive:
        closed = day < now_ist.date() or (day == now_ist.date() and now_ist.time() >= time(15, 30))
        if not closed:
            break
        stamp = datetime.combine(day, time(), IST).timestamp()
        bar = real.get(day)
        if bar:
            _, o, h, low, c, v = bar[0]
            _append(out, (stamp, o, h, low, c, v), oi)
        elif lib.is_trading_day(inst, day):
            _append(out, (stamp, *_synthetic_day(lib, inst, day, now_ist.date())), oi)
        day += timedelta(days=1)
    return out


def _synthetic_day(lib: PriceLibrary, inst: Instrument, day: date, today: date) -> tuple:
    if inst.is_derivative or (today - day).days <= PATH_DAYS or lib.intraday_bars(inst, day):
        path = lib.path(inst.segment, inst.security_id, day)
        if path.prices:
            return (path.prices[0], path.highs[-1], path.lows[-1], path.prices[-1],
                    path.cumvol[-1])
    base = lib.base_price(inst)
    rng = rng_for(lib.seed, inst.security_id, "daily", day.isoformat())
    close = level(base, day, lib.seed, inst.security_id)
    open_ = close * (1 + rng.gauss(0, 0.006))
    high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
    low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
    tick = inst.tick_size
    vol = 0 if inst.segment == "IDX_I" else rng.randint(50_000, 5_000_000)
    return (round_tick(open_, tick), round_tick(high, tick), round_tick(low, tick),
            round_tick(close, tick), vol)


def parse_day(text: str) -> date:
    """Parse 'YYYY-MM-DD' (a time part is ignored)."""
    return date.fromisoformat(str(text).strip()[:10])


def parse_moment(text: str, end: bool) -> datetime:
    """Parse 'YYYY-MM-DD[ HH:MM[:SS]]' as IST; a bare date at the end means the whole day."""
    text = str(text).strip()
    if len(text) <= 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time(23, 59, 59) if end else time(), IST)
    ts = datetime.fromisoformat(text)
    return ts.replace(tzinfo=IST) if ts.tzinfo is None else ts.astimezone(UTC)

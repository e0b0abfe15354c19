"""Per-instrument price paths: real bars replayed as ticks, or seeded synthetic walks."""

from __future__ import annotations

import bisect
import csv
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from dhansim.clock import IST
from dhansim.instruments import PACKAGE_DATA, Instrument, InstrumentMaster
from dhansim.synth import (
    bars_to_ticks,
    bridge_ticks,
    level,
    option_price,
    rng_for,
    round_tick,
)

INTERVALS = (("1m", 60), ("5m", 300), ("15m", 900))
INDEX_FILES = {"NIFTY": "IDX-NIFTY50", "BANKNIFTY": "IDX-BANKNIFTY"}

Bar = tuple[int, float, float, float, float, int]  # (sec of day IST, o, h, l, c, v)


@dataclass
class DayPath:
    """All trades of one instrument on one date, with running aggregates per trade."""

    day: date
    prev_close: float
    times: list[int] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    cumvol: list[int] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)
    vwaps: list[float] = field(default_factory=list)
    ois: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, day: date, prev_close: float, ticks: list[tuple[int, float, int]],
              oi_base: int = 0) -> DayPath:
        """Accumulate running volume, high, low, VWAP and OI over the ticks."""
        path = cls(day=day, prev_close=prev_close)
        vol, notional, hi, lo = 0, 0.0, -math.inf, math.inf
        n = max(len(ticks), 1)
        for i, (t, p, v) in enumerate(ticks):
            vol += v
            notional += p * v
            hi, lo = max(hi, p), min(lo, p)
            path.times.append(t)
            path.prices.append(p)
            path.sizes.append(v)
            path.cumvol.append(vol)
            path.highs.append(hi)
            path.lows.append(lo)
            path.vwaps.append(notional / vol if vol else p)
            path.ois.append(int(oi_base * (1 + 0.04 * math.sin(3 * i / n))) if oi_base else 0)
        return path

    def index_at(self, second: float) -> int:
        """Return the index of the last trade at or before the given second of day (-1: none)."""
        return bisect.bisect_right(self.times, second) - 1


class PriceLibrary:
    """Load real bars lazily per file and produce day paths for any instrument."""

    def __init__(self, master: InstrumentMaster, data_dir: Path | None, seed: int = 0) -> None:
        self.master = master
        self.data_dir = data_dir
        self.seed = seed
        self._files: dict[str, dict[date, list[Bar]] | None] = {}
        self._bases = self._load_bases()
        self._trading_days: dict[tuple[str, str, date], bool] = {}
        self.path = lru_cache(maxsize=4096)(self._path)

    @staticmethod
    def _load_bases() -> dict[tuple[str, str], float]:
        with (PACKAGE_DATA / "base_prices.csv").open() as fh:
            return {(r["segment"], r["securityId"]): float(r["price"]) for r in csv.DictReader(fh)}

    def _prefix(self, inst: Instrument) -> str | None:
        if inst.segment == "IDX_I":
            return INDEX_FILES.get(inst.symbol)
        if inst.segment in ("NSE_EQ", "BSE_EQ"):
            # A BSE listing trades at the NSE price of the same company.
            return f"NSE_EQ-{inst.symbol}"
        return None

    def _file(self, name: str) -> dict[date, list[Bar]] | None:
        if name not in self._files:
            self._files[name] = self._read(name)
        return self._files[name]

    def _read(self, name: str) -> dict[date, list[Bar]] | None:
        if self.data_dir is None:
            return None
        path = self.data_dir / f"{name}.parquet"
        if not path.exists():
            return None
        import polars as pl  # imported lazily: it is the slowest part of startup

        df = pl.read_parquet(path).with_columns(
            pl.col("ts").dt.convert_time_zone("Asia/Kolkata").alias("ts"))
        df = df.with_columns(pl.col("ts").dt.date().alias("d"),
                             (pl.col("ts").dt.hour().cast(pl.Int32) * 3600
                              + pl.col("ts").dt.minute().cast(pl.Int32) * 60).alias("sec"))
        cols = [df[c].to_list() for c in ("sec", "open", "high", "low", "close", "volume")]
        dates = df["d"].to_list()
        rows = list(zip(*cols))
        out: dict[date, list[Bar]] = {}
        lo = 0
        for hi in range(1, len(dates) + 1):
            if hi == len(dates) or dates[hi] != dates[lo]:
                out[dates[lo]] = rows[lo:hi]
                lo = hi
        return out

    def intraday_bars(self, inst: Instrument, day: date) -> tuple[list[Bar], int] | None:
        """Return the finest real bars of that day with their interval in seconds."""
        prefix = self._prefix(inst)
        if prefix is None:
            return None
        for suffix, seconds in INTERVALS:
            bars = (self._file(f"{prefix}-{suffix}") or {}).get(day)
            if bars:
                return bars, seconds
        return None

    def daily(self, inst: Instrument) -> dict[date, list[Bar]]:
        """Return the real daily bars of an instrument keyed by date (empty if none)."""
        prefix = self._prefix(inst)
        return (self._file(f"{prefix}-1d") or {}) if prefix else {}

    def base_price(self, inst: Instrument) -> float:
        """Return the anchor level of a synthetic instrument."""
        known = self._bases.get((inst.segment, inst.security_id))
        if known:
            return known
        daily = self.daily(inst)
        if daily:
            return daily[max(daily)][0][4]
        return round(rng_for(self.seed, inst.segment, inst.security_id).uniform(80, 3000), 1)

    def _coverage(self, inst: Instrument) -> list[dict[date, list[Bar]]]:
        prefix = self._prefix(inst)
        if prefix is None:
            return []
        files = (self._file(f"{prefix}-{suffix}") for suffix in ("1m", "5m", "15m", "1d"))
        return [f for f in files if f]

    def is_trading_day(self, inst: Instrument, day: date) -> bool:
        """Tell whether the instrument trades on a date: real data decides where it covers
        the date (so holidays and special sessions are real), weekdays elsewhere."""
        if inst.is_derivative:
            und = self.master.underlying_of(inst)
            return self.is_trading_day(und, day) if und else day.weekday() < 5
        key = (inst.segment, inst.security_id, day)
        if key not in self._trading_days:
            covering = [f for f in self._coverage(inst) if min(f) <= day <= max(f)]
            self._trading_days[key] = (any(day in f for f in covering) if covering
                                       else day.weekday() < 5)
        return self._trading_days[key]

    def last_trading_day(self, inst: Instrument, before: date) -> date:
        """Return the last trading day strictly before the given date."""
        day = before - timedelta(days=1)
        while not self.is_trading_day(inst, day):
            day -= timedelta(days=1)
        return day

    def close_of(self, inst: Instrument, day: date) -> float:
        """Return the official close of a day (real daily bar, else the path's last trade)."""
        daily = self.daily(inst).get(day)
        if daily:
            return daily[0][4]
        bars = self.intraday_bars(inst, day)
        if bars:
            return bars[0][-1][4]
        if inst.is_derivative:
            path = self.path(inst.segment, inst.security_id, day)
            return path.prices[-1] if path.prices else 0.0
        return round_tick(level(self.base_price(inst), day, self.seed, inst.security_id),
                          inst.tick_size)

    def _path(self, segment: str, security_id: str, day: date) -> DayPath:
        inst = self.master.get(segment, security_id)
        if inst is None:
            raise KeyError((segment, security_id))
        if inst.is_derivative:
            return self._derivative_path(inst, day)
        prev = self.close_of(inst, self.last_trading_day(inst, day))
        if not self.is_trading_day(inst, day):
            return DayPath.build(day, prev, [])
        rng = rng_for(self.seed, segment, security_id, day.isoformat())
        real = self.intraday_bars(inst, day)
        if real:
            return DayPath.build(day, prev, bars_to_ticks(*real))
        bar = self.daily(inst).get(day)
        if bar:
            _, o, h, low, c, v = bar[0]
            return DayPath.build(day, prev, bridge_ticks(rng, o, c, inst.tick_size, h, low, v))
        open_ = round_tick(prev * (1 + rng.gauss(0, 0.003)), inst.tick_size)
        close = self.close_of(inst, day)
        ticks = bridge_ticks(rng, open_, close, inst.tick_size)
        if inst.segment == "IDX_I":
            ticks = [(t, p, 0) for t, p, _ in ticks]
        return DayPath.build(day, prev, ticks)

    def _derivative_path(self, inst: Instrument, day: date) -> DayPath:
        und = self.master.underlying_of(inst)
        if und is None or inst.expired_on(day):
            return DayPath.build(day, 0.0, [])
        base = self.path(und.segment, und.security_id, day)
        expiry = inst.expiry or datetime.combine(day, time(15, 30))
        vol = 0.14 if und.segment == "IDX_I" else 0.26
        rng = rng_for(self.seed, inst.security_id, day.isoformat())

        def price_at(spot: float, moment: datetime) -> float:
            years = max((expiry - moment).total_seconds(), 0.0) / (365 * 86400)
            if inst.is_option:
                value = option_price(spot, inst.strike, years, vol, inst.option_type == "CE")
            else:
                value = spot * math.exp(0.065 * years)
            return max(round_tick(value, inst.tick_size), inst.tick_size)

        midnight = datetime.combine(day, time())
        ticks = [(t, price_at(p, midnight + timedelta(seconds=t)),
                  inst.lot_size * rng.randint(1, 40)) for t, p in zip(base.times, base.prices)]
        prev_day = self.last_trading_day(inst, day)
        prev = price_at(self.close_of(und, prev_day), datetime.combine(prev_day, time(15, 30)))
        oi_base = inst.lot_size * rng_for(self.seed, "oi", inst.security_id).randint(2_000, 60_000)
        return DayPath.build(day, prev, ticks, oi_base)

    def first_trade_time(self, day: date) -> datetime:
        """Return the session open on that date as an aware IST datetime."""
        return datetime.combine(day, time(9, 15), IST)

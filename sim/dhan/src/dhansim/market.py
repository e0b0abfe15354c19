"""Market state at the simulated now: snapshots, synthetic depth, sessions and bands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dhansim.clock import IST, SimClock
from dhansim.instruments import Instrument, InstrumentMaster
from dhansim.prices import PriceLibrary
from dhansim.synth import rng_for, round_tick

OPEN_T, CLOSE_T = time(9, 15), time(15, 30)


@dataclass(frozen=True)
class Level:
    """One depth level on both sides."""

    bid_qty: int
    ask_qty: int
    bid_orders: int
    ask_orders: int
    bid: float
    ask: float


@dataclass(frozen=True)
class Snapshot:
    """What the market shows for one instrument at one instant."""

    inst: Instrument
    day: date
    seq: int  # index of the last trade of the day (-1 before the first)
    ltp: float
    ltq: int
    ltt: datetime  # IST
    volume: int
    open: float
    high: float
    low: float
    prev_close: float
    atp: float
    oi: int
    oi_high: int
    oi_low: int
    depth: tuple[Level, ...]

    @property
    def bid(self) -> float:
        """Return the best bid."""
        return self.depth[0].bid

    @property
    def ask(self) -> float:
        """Return the best ask."""
        return self.depth[0].ask

    @property
    def total_buy(self) -> int:
        """Return the total bid quantity shown."""
        return sum(lv.bid_qty for lv in self.depth)

    @property
    def total_sell(self) -> int:
        """Return the total ask quantity shown."""
        return sum(lv.ask_qty for lv in self.depth)


class Market:
    """Answer price questions about any instrument at the clock's current time."""

    def __init__(self, master: InstrumentMaster, prices: PriceLibrary, clock: SimClock) -> None:
        self.master = master
        self.prices = prices
        self.clock = clock
        self._memo: dict[tuple, Snapshot] = {}

    def is_open(self, inst: Instrument, at: datetime | None = None) -> bool:
        """Tell whether the normal session of the instrument's exchange is running."""
        now = (at or self.clock.now()).astimezone(IST)
        return (self.prices.is_trading_day(inst, now.date())
                and OPEN_T <= now.time() < CLOSE_T)

    def session_close(self, day: date) -> datetime:
        """Return the close of the normal session on a date."""
        return datetime.combine(day, CLOSE_T, IST)

    def snapshot(self, inst: Instrument, at: datetime | None = None) -> Snapshot:
        """Return the instrument's state at the given (default: current) simulated time."""
        now = (at or self.clock.now()).astimezone(IST)
        path = self.prices.path(inst.segment, inst.security_id, now.date())
        second = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
        i = path.index_at(second)
        # A snapshot depends only on the trade index of the day, so it is memoised.
        key = (inst.segment, inst.security_id, now.date(), i)
        cached = self._memo.get(key)
        if cached is not None and cached.inst is inst:
            return cached
        if len(self._memo) > 50_000:
            self._memo.clear()
        snap = self._build(inst, path, now, i)
        self._memo[key] = snap
        return snap

    def trades_after(self, inst: Instrument, after_seq: int, at: datetime | None = None,
                     limit: int = 50) -> list[Snapshot]:
        """Return the snapshot of every trade after `after_seq` up to the one at `at` (the
        last `limit` of them), oldest first: what a feed that sends each trade has sent."""
        now = (at or self.clock.now()).astimezone(IST)
        last = self.snapshot(inst, now)
        first = max(after_seq + 1, last.seq - limit + 1, 0)
        if last.seq < first:
            return []
        path = self.prices.path(inst.segment, inst.security_id, now.date())
        out = []
        for i in range(first, last.seq):
            key = (inst.segment, inst.security_id, now.date(), i)
            snap = self._memo.get(key)
            if snap is None or snap.inst is not inst:
                snap = self._memo[key] = self._build(inst, path, now, i)
            out.append(snap)
        return [*out, last]

    def _build(self, inst: Instrument, path, now: datetime, i: int) -> Snapshot:
        if i < 0:
            return self._before_open(inst, path.prev_close, now.date())
        ltt = datetime.combine(now.date(), time(), IST) + timedelta(seconds=path.times[i])
        ltp = path.prices[i]
        unit = max(inst.lot_size, 1)
        depth_qty = max(unit, (path.sizes[i] // 3 // unit) * unit) if path.sizes[i] else 0
        ois = path.ois[: i + 1]
        return Snapshot(
            inst=inst, day=now.date(), seq=i, ltp=ltp,
            ltq=min(path.sizes[i], unit * (1 + (i * 7919) % 97)),
            ltt=ltt, volume=path.cumvol[i], open=path.prices[0], high=path.highs[i],
            low=path.lows[i], prev_close=path.prev_close, atp=round(path.vwaps[i], 2),
            oi=path.ois[i], oi_high=max(ois), oi_low=min(ois),
            depth=self._depth(inst, ltp, depth_qty, now.date(), i),
        )

    def _before_open(self, inst: Instrument, prev_close: float, day: date) -> Snapshot:
        prev_day = self.prices.last_trading_day(inst, day)
        ltt = datetime.combine(prev_day, time(15, 29, 45), IST)
        return Snapshot(inst=inst, day=day, seq=-1, ltp=prev_close, ltq=0, ltt=ltt, volume=0,
                        open=0.0, high=0.0, low=0.0, prev_close=prev_close, atp=0.0, oi=0,
                        oi_high=0, oi_low=0,
                        depth=self._depth(inst, prev_close, 0, day, -1))

    def _depth(self, inst: Instrument, ltp: float, qty: int, day: date, seq: int,
               ) -> tuple[Level, ...]:
        if inst.segment == "IDX_I" or qty <= 0:
            return tuple(Level(0, 0, 0, 0, 0.0, 0.0) for _ in range(5))
        rng = rng_for(inst.security_id, day.toordinal(), seq)
        tick = inst.tick_size
        levels = []
        for k in range(5):
            bq = qty * (k + 1) + inst.lot_size * rng.randint(0, 5)
            aq = qty * (k + 1) + inst.lot_size * rng.randint(0, 5)
            levels.append(Level(bq, aq, rng.randint(1, 9 + k), rng.randint(1, 9 + k),
                                round_tick(ltp - tick * (k + 1), tick),
                                round_tick(ltp + tick * (k + 1), tick)))
        return tuple(levels)

    def circuit(self, inst: Instrument, snap: Snapshot) -> tuple[float, float]:
        """Return the (lower, upper) price band for the day."""
        ref = snap.prev_close or snap.ltp
        if inst.is_option:
            return inst.tick_size, round_tick(max(ref * 3, ref + 0.1 * self._und_ltp(inst)),
                                              inst.tick_size)
        pct = 0.10 if inst.is_derivative else 0.20
        return (round_tick(ref * (1 - pct), inst.tick_size),
                round_tick(ref * (1 + pct), inst.tick_size))

    def _und_ltp(self, inst: Instrument) -> float:
        und = self.master.underlying_of(inst)
        return self.snapshot(und).ltp if und else 0.0

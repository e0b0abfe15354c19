"""Deterministic synthetic prices: seeded walks, bar-to-tick expansion, option pricing."""

from __future__ import annotations

import hashlib
import math
import random
from datetime import date, timedelta

SESSION_OPEN = 9 * 3600 + 15 * 60
SESSION_CLOSE = 15 * 3600 + 30 * 60
SYNTH_STEP = 20  # seconds between synthetic trades


def rng_for(*parts: object) -> random.Random:
    """Return a Random seeded from the given parts (stable across runs and platforms)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def round_tick(price: float, tick: float) -> float:
    """Round a price to the nearest multiple of tick (at least one tick)."""
    steps = max(1, round(price / tick))
    return round(steps * tick, 2)


def previous_weekday(day: date) -> date:
    """Return the weekday before the given date."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def level(base: float, day: date, seed: object, key: str) -> float:
    """Return a deterministic, mean-reverting closing level for a synthetic instrument."""
    r = rng_for(seed, key, "phase")
    p1, p2 = r.uniform(0, 6.3), r.uniform(0, 6.3)
    d = day.toordinal()
    noise = rng_for(seed, key, d).gauss(0, 0.006)
    return base * (1 + 0.08 * math.sin(2 * math.pi * d / 180 + p1)
                   + 0.03 * math.sin(2 * math.pi * d / 23 + p2) + noise)


def bars_to_ticks(bars: list[tuple[int, float, float, float, float, int]],
                  interval: int) -> list[tuple[int, float, int]]:
    """Expand bars into four trades each that keep O/H/L/C order and sum to the volume."""
    ticks: list[tuple[int, float, int]] = []
    for start, o, h, low, c, v in bars:
        path = (o, low, h, c) if c >= o else (o, h, low, c)
        share, rest = divmod(int(v), 4)
        for k, price in enumerate(path):
            ticks.append((start + k * interval // 4, price, share + (rest if k == 3 else 0)))
    return ticks


def bridge_ticks(rng: random.Random, open_: float, close: float, tick: float,
                 high: float | None = None, low: float | None = None,
                 volume: int | None = None, vol_scale: float = 0.0012,
                 ) -> list[tuple[int, float, int]]:
    """Build a seeded intraday path from open to close, optionally stretched to hit high/low."""
    times = list(range(SESSION_OPEN, SESSION_CLOSE, SYNTH_STEP))
    n = len(times)
    walk, acc = [], 0.0
    for _ in range(n):
        acc += rng.gauss(0, 1)
        walk.append(acc)
    dev = [walk[i] - walk[-1] * i / (n - 1) for i in range(n)]
    base = [open_ + (close - open_) * i / (n - 1) for i in range(n)]
    if high is not None and low is not None:
        up = max(max(d for d in dev), 1e-9)
        dn = min(min(d for d in dev), -1e-9)
        room_up = max(high - max(open_, close), 0.0)
        room_dn = max(min(open_, close) - low, 0.0)
        prices = [b + (d / up * room_up if d > 0 else d / -dn * room_dn) for b, d in zip(base, dev)]
        prices = [min(max(p, low), high) for p in prices]
    else:
        step = open_ * vol_scale
        prices = [b + d * step for b, d in zip(base, dev)]
    if volume is None:
        vols = [rng.randint(1, 50) * 10 for _ in range(n)]
    else:
        share, rest = divmod(int(volume), n)
        vols = [share] * n
        vols[-1] += rest
    return [(t, max(round_tick(p, tick), tick), v) for t, p, v in zip(times, prices, vols)]


def _norm_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def option_price(spot: float, strike: float, years: float, vol: float, call: bool,
                 rate: float = 0.065) -> float:
    """Return the Black-Scholes premium (intrinsic value at expiry)."""
    if years <= 0:
        return max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate + vol * vol / 2) * years) / sd
    d2 = d1 - sd
    disc = strike * math.exp(-rate * years)
    if call:
        return spot * _norm_cdf(d1) - disc * _norm_cdf(d2)
    return disc * _norm_cdf(-d2) - spot * _norm_cdf(-d1)

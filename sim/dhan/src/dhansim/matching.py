"""Pure fill rules: market protection, triggers, limit crossing and partial fills."""

from __future__ import annotations

from dataclasses import dataclass

from dhansim.market import Snapshot
from dhansim.synth import round_tick


@dataclass(frozen=True)
class Fill:
    """Outcome of matching an order against one market snapshot."""

    qty: int
    price: float
    triggered: bool


def mpp_percent(inst_is_option: bool, price: float) -> float:
    """Return Dhan's indicative market-price-protection band (INDIA.md) as a fraction."""
    if inst_is_option:
        return 0.05 if price < 10 else 0.03 if price < 100 else 0.02 if price < 500 else 0.01
    return 0.02 if price < 100 else 0.01 if price < 500 else 0.005


def protected_limit(side: str, snap: Snapshot) -> float:
    """Return the limit price a market order is converted to (touch +/- protection)."""
    inst = snap.inst
    touch = (snap.ask if side == "BUY" else snap.bid) or snap.ltp
    pct = mpp_percent(inst.is_option, touch)
    raw = touch * (1 + pct) if side == "BUY" else touch * (1 - pct)
    return round_tick(raw, inst.tick_size)


def is_triggered(side: str, trigger: float, ltp: float) -> bool:
    """Tell whether a stop order's trigger has been touched by the last trade."""
    return ltp >= trigger if side == "BUY" else ltp <= trigger


def match(side: str, limit: float, remaining: int, lot: int, snap: Snapshot) -> tuple[int, float]:
    """Return (qty, price) that a resting limit can take from the touch of this snapshot."""
    if snap.seq < 0 or remaining <= 0:
        return 0, 0.0
    level = snap.depth[0]
    if side == "BUY":
        touch, avail = level.ask, level.ask_qty
        crossed = touch > 0 and touch <= limit + 1e-9
    else:
        touch, avail = level.bid, level.bid_qty
        crossed = touch > 0 and touch >= limit - 1e-9
    if not crossed or avail <= 0:
        return 0, 0.0
    qty = min(remaining, avail)
    qty -= qty % max(lot, 1)
    return (qty, touch) if qty > 0 else (0, 0.0)


def evaluate(side: str, order_type: str, price: float, trigger: float, triggered: bool,
             remaining: int, lot: int, snap: Snapshot) -> Fill:
    """Decide what an open order does on a new snapshot (trigger first, then match)."""
    if order_type in ("STOP_LOSS", "STOP_LOSS_MARKET") and not triggered:
        if snap.seq < 0 or not is_triggered(side, trigger, snap.ltp):
            return Fill(0, 0.0, False)
        triggered = True
    limit = price
    if order_type == "STOP_LOSS_MARKET":
        limit = protected_limit(side, snap)
    qty, fill_price = match(side, limit, remaining, lot, snap)
    return Fill(qty, fill_price, triggered)

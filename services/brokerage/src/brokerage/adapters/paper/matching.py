"""Pure fill rules, the same as the Dhan simulator's: protected market, limits, stops."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

D = Decimal


@dataclass(frozen=True)
class Quote:
    """The touch of one instrument at one tick (rupees)."""

    ltp: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_qty: int | None = None
    ask_qty: int | None = None


def mpp(price: Decimal, option: bool = False) -> Decimal:
    """Return Dhan's indicative market-price-protection band as a fraction (INDIA.md)."""
    if option:
        return D("0.05") if price < 10 else D("0.03") if price < 100 else \
            D("0.02") if price < 500 else D("0.01")
    return D("0.02") if price < 100 else D("0.01") if price < 500 else D("0.005")


TICK = D("0.05")


def protected_limit(side: str, q: Quote, tick: Decimal = TICK) -> Decimal:
    """Return the limit a market order becomes: the touch plus/minus protection."""
    touch = (q.ask if side == "BUY" else q.bid) or q.ltp
    band = mpp(touch)
    raw = touch * (1 + band) if side == "BUY" else touch * (1 - band)
    return (raw / tick).quantize(D(1), rounding=ROUND_HALF_UP) * tick


def triggered(side: str, trigger: Decimal, q: Quote) -> bool:
    """Tell whether a stop's trigger was touched by the last trade."""
    return q.ltp >= trigger if side == "BUY" else q.ltp <= trigger


@dataclass(frozen=True)
class Fill:
    """What one tick does to an open order."""

    quantity: int
    price: Decimal
    triggered: bool


def evaluate(side: str, order_type: str, limit: Decimal | None, trigger: Decimal | None,
             was_triggered: bool, remaining: int, q: Quote) -> Fill:
    """Decide the fill of an open order on a new quote (trigger first, then match)."""
    is_stop = order_type in ("STOP_LOSS", "STOP_LOSS_MARKET")
    fired = was_triggered
    if is_stop and not fired:
        if trigger is None or not triggered(side, trigger, q):
            return Fill(0, D(0), False)
        fired = True
    if order_type in ("MARKET", "STOP_LOSS_MARKET") or limit is None:
        limit = protected_limit(side, q)
    touch = (q.ask if side == "BUY" else q.bid) or q.ltp
    crossed = touch <= limit if side == "BUY" else touch >= limit
    if not crossed or remaining <= 0:
        return Fill(0, D(0), fired)
    avail = q.ask_qty if side == "BUY" else q.bid_qty
    qty = remaining if not avail else min(remaining, avail)
    return Fill(qty, touch, fired)

"""Pure rules of the engine: risk checks, stop/target levels, fill arithmetic, session times."""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal

from contracts.orders import make_intent_id
from svckit.clock import ist

ENTRY = "entry"
EXIT = "exit"
STOP_LOSS = "stop_loss"
TARGET = "target"
SQUARE_OFF = "square_off"
KILL_SWITCH = "kill_switch"

# Risk-check reason codes (the text after the colon is for people).
R_PAUSED = "paused"
R_MAX_POSITIONS = "max_positions"
R_POSITION_SIZE = "position_size"
R_MAX_NOTIONAL = "max_notional"
R_DAILY_LOSS = "daily_loss_limit"
R_ACCOUNT_LOSS = "account_daily_loss_limit"
R_MARKET_CLOSED = "market_closed"
R_ENTRY_CUTOFF = "entry_cutoff"
R_PACING = "order_pacing"
R_STALE_FEED = "stale_feed"


def parse_hhmm(text: str) -> time:
    """Parse `HH:MM` into a time of day."""
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


@functools.lru_cache(maxsize=4096)
def ist_time(at: datetime) -> time:
    """Return the IST wall-clock time of an instant (cached: every deployment of an
    instrument asks it for the same bar end)."""
    return ist(at).time().replace(tzinfo=None)


def intent_id(deployment_id: str, at: datetime | str, leg: str) -> str:
    """Return the deterministic intent id of (deployment, bar time, leg)."""
    stamp = at.isoformat() if isinstance(at, datetime) else at
    return make_intent_id(deployment_id, stamp, leg)


def entry_side(direction: str) -> str:
    """Return the order side that opens a position of this direction."""
    return "BUY" if direction == "long" else "SELL"


def exit_side(direction: str) -> str:
    """Return the order side that closes a position of this direction."""
    return "SELL" if direction == "long" else "BUY"


def _paise(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def levels(direction: str, fill_paise: int, sl_pct: Decimal | None,
           tp_pct: Decimal | None) -> tuple[int | None, int | None]:
    """Return (stop, target) in paise from the entry fill, as the backtest engine does."""
    sign = 1 if direction == "long" else -1
    fill = Decimal(fill_paise)
    stop = _paise(fill * (1 - sign * Decimal(sl_pct) / 100)) if sl_pct else None
    target = _paise(fill * (1 + sign * Decimal(tp_pct) / 100)) if tp_pct else None
    return stop, target


def level_hit(direction: str, price: int, stop: int | None, target: int | None) -> str | None:
    """Return `stop_loss` or `target` when a price reaches a level (stop first), else None."""
    if direction == "long":
        if stop is not None and price <= stop:
            return STOP_LOSS
        if target is not None and price >= target:
            return TARGET
    else:
        if stop is not None and price >= stop:
            return STOP_LOSS
        if target is not None and price <= target:
            return TARGET
    return None


def fill_increment(prev_filled: int, prev_avg: int | None, filled: int, avg: int | None,
                   last_qty: int, last_price: int | None) -> tuple[int, int | None]:
    """Return (new quantity, its price) from two cumulative order states; (0, None) if none."""
    delta = filled - prev_filled
    if delta <= 0:
        return 0, None
    if last_price is not None and last_qty == delta:
        return delta, last_price
    if avg is None:
        return delta, last_price
    total = avg * filled - (prev_avg or 0) * prev_filled
    return delta, int(round(total / delta))


def pnl(direction: str, quantity: int, entry: int, exit_: int) -> int:
    """Return the gross P&L in paise of a round trip."""
    sign = 1 if direction == "long" else -1
    return sign * quantity * (exit_ - entry)


@dataclass
class EntryCheck:
    """Everything the entry risk checks look at (money in paise)."""

    paused: bool
    open_positions: int
    max_positions: int
    units: int
    max_quantity: int | None
    price: int
    open_notional: int
    max_notional: int | None
    day_pnl: int
    daily_loss_limit: int | None
    account_day_pnl: int
    account_daily_loss_limit: int | None
    market_open: bool
    after_cutoff: bool
    stale_feed: str | None


def entry_refusals(c: EntryCheck) -> list[str]:
    """Return why an entry must not be sent (empty: it may go)."""
    out: list[str] = []
    if c.paused:
        out.append(f"{R_PAUSED}: the deployment is paused")
    if c.stale_feed:
        out.append(f"{R_STALE_FEED}: {c.stale_feed}")
    if not c.market_open:
        out.append(f"{R_MARKET_CLOSED}: the market is closed")
    if c.after_cutoff:
        out.append(f"{R_ENTRY_CUTOFF}: no new entries after the entry cut-off")
    if c.open_positions >= c.max_positions:
        out.append(f"{R_MAX_POSITIONS}: {c.open_positions} of {c.max_positions} positions open")
    if c.max_quantity is not None and c.units > c.max_quantity:
        out.append(f"{R_POSITION_SIZE}: {c.units} units exceed the limit of {c.max_quantity}")
    notional = c.open_notional + c.units * c.price
    if c.max_notional is not None and notional > c.max_notional:
        out.append(f"{R_MAX_NOTIONAL}: notional {notional / 100:.2f} exceeds "
                   f"{c.max_notional / 100:.2f}")
    if c.daily_loss_limit is not None and -c.day_pnl >= c.daily_loss_limit:
        out.append(f"{R_DAILY_LOSS}: today's loss {-c.day_pnl / 100:.2f} reached the limit "
                   f"{c.daily_loss_limit / 100:.2f}")
    if c.account_daily_loss_limit is not None and -c.account_day_pnl >= c.account_daily_loss_limit:
        out.append(f"{R_ACCOUNT_LOSS}: the account's loss today "
                   f"{-c.account_day_pnl / 100:.2f} reached the limit "
                   f"{c.account_daily_loss_limit / 100:.2f}")
    return out


@dataclass
class Pacer:
    """Sliding one-second window of orders per account (Dhan allows 10/s)."""

    rate_per_s: int
    _sent: dict[str, deque] = field(default_factory=dict)

    def allow(self, account_id: str, now_s: float) -> bool:
        """Record an order at `now_s` when the account is under its rate; False when over."""
        window = self._sent.setdefault(account_id, deque())
        while window and now_s - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.rate_per_s:
            return False
        window.append(now_s)
        return True

"""Backtest settings: what to trade, how much, when to leave, what it costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

from btengine.costs import VALID_PRODUCTS, Brokerage


@dataclass(frozen=True)
class Settings:
    """Everything a backtest needs besides bars and signals.

    - ``quantity`` is shares (NSE_EQ) or lots; each position holds ``quantity * lot_size`` units.
    - ``max_positions``: every bar with an entry signal opens one more position (one
      ``quantity``) at the next open while fewer than ``max_positions`` are open, so a signal
      that stays true on consecutive bars pyramids; an exit signal closes them all.
    - ``stop_loss_pct`` / ``target_pct`` are percent of each position's own entry fill
      (None or 0: none).
    - ``stops_from_next_bar``: check stop/target from the bar after the entry bar (default:
      from the entry bar itself, whose whole range follows the opening fill).
    - ``square_off`` (default: on for product ``intraday``): close at the open of the first bar
      of the day opening at/after ``square_off_time`` IST, else at the close of the day's last bar.
    - ``product``: ``delivery``/``intraday`` for NSE_EQ, ``futures``/``options`` for NSE_FNO.
    - Slippage moves every fill against the trade by ``slippage_bps`` basis points plus
      ``slippage_ticks`` × ``tick_size`` rupees.
    """

    direction: Literal["long", "short"] = "long"
    quantity: int = 1
    lot_size: int = 1
    max_positions: int = 1
    stop_loss_pct: float | None = None
    target_pct: float | None = None
    stops_from_next_bar: bool = False
    segment: Literal["NSE_EQ", "NSE_FNO"] = "NSE_EQ"
    product: Literal["delivery", "intraday", "futures", "options"] = "delivery"
    square_off: bool | None = None
    square_off_time: time = time(15, 15)
    slippage_bps: float = 0.0
    slippage_ticks: int = 0
    tick_size: float = 0.05
    costs: bool = True
    brokerage: Brokerage | None = None
    initial_capital: float = 100_000.0
    risk_free_rate: float = 0.0
    histogram_bins: int = 20

    def __post_init__(self) -> None:
        if self.direction not in ("long", "short"):
            raise ValueError(f"direction must be long or short, not {self.direction!r}")
        if self.product not in VALID_PRODUCTS.get(self.segment, ()):
            raise ValueError(f"product {self.product!r} is not valid for {self.segment}")
        if self.quantity < 1 or self.lot_size < 1 or self.max_positions < 1:
            raise ValueError("quantity, lot_size and max_positions must be >= 1")
        for name in ("stop_loss_pct", "target_pct"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 100:
                raise ValueError(f"{name} must be in [0, 100) (0 or None: none)")
        if self.slippage_bps < 0 or self.slippage_ticks < 0 or self.initial_capital <= 0:
            raise ValueError("slippage must be >= 0 and initial_capital > 0")

    @property
    def units(self) -> int:
        """Return shares or contracts per position."""
        return self.quantity * self.lot_size

    @property
    def sign(self) -> int:
        """Return +1 for long, -1 for short."""
        return 1 if self.direction == "long" else -1

    @property
    def squares_off(self) -> bool:
        """Return whether positions are squared off daily."""
        return self.product == "intraday" if self.square_off is None else self.square_off

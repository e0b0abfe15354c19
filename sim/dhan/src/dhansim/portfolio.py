"""Accounts: positions, holdings, margin and fund limits that follow the fills."""

from __future__ import annotations

from dataclasses import dataclass, field

from dhansim.instruments import Instrument
from dhansim.orders import Order, Trade

INTRADAY_EQUITY_MARGIN = 0.20
FUTURES_MARGIN = 0.12
SHORT_OPTION_MARGIN = 0.12


@dataclass
class Position:
    """Net position of one instrument and product since the start of the day."""

    inst: Instrument
    product: str
    net: int = 0
    avg: float = 0.0  # average price of the open net quantity
    realized: float = 0.0
    buy_qty: int = 0
    buy_value: float = 0.0
    sell_qty: int = 0
    sell_value: float = 0.0
    cf_buy_qty: int = 0
    cf_sell_qty: int = 0
    cf_buy_value: float = 0.0
    cf_sell_value: float = 0.0

    def apply(self, side: str, qty: int, price: float) -> None:
        """Book a fill, realising P&L on the part that reduces the open quantity."""
        signed = qty if side == "BUY" else -qty
        if side == "BUY":
            self.buy_qty, self.buy_value = self.buy_qty + qty, self.buy_value + qty * price
        else:
            self.sell_qty, self.sell_value = self.sell_qty + qty, self.sell_value + qty * price
        if self.net == 0 or (self.net > 0) == (signed > 0):
            total = abs(self.net) + qty
            self.avg = (self.avg * abs(self.net) + price * qty) / total
            self.net += signed
            return
        closing = min(qty, abs(self.net))
        direction = 1 if self.net > 0 else -1
        self.realized += (price - self.avg) * closing * direction
        self.net += signed
        if self.net == 0:
            self.avg = 0.0
        elif (self.net > 0) != (direction > 0):
            self.avg = price

    def to_wire(self, client_id: str, ltp: float) -> dict:
        """Render as GET /positions shows it."""
        inst = self.inst
        kind = "LONG" if self.net > 0 else "SHORT" if self.net < 0 else "CLOSED"
        return {
            "dhanClientId": client_id, "tradingSymbol": inst.symbol,
            "securityId": inst.security_id, "positionType": kind,
            "exchangeSegment": inst.segment, "productType": self.product,
            "buyAvg": round(self.buy_value / self.buy_qty, 2) if self.buy_qty else 0.0,
            "costPrice": round(self.avg, 2), "buyQty": self.buy_qty,
            "sellAvg": round(self.sell_value / self.sell_qty, 2) if self.sell_qty else 0.0,
            "sellQty": self.sell_qty, "netQty": self.net,
            "realizedProfit": round(self.realized, 2),
            "unrealizedProfit": round((ltp - self.avg) * self.net, 2) if self.net else 0.0,
            "rbiReferenceRate": 1.0, "multiplier": 1,
            "carryForwardBuyQty": self.cf_buy_qty, "carryForwardSellQty": self.cf_sell_qty,
            "carryForwardBuyValue": self.cf_buy_value, "carryForwardSellValue": self.cf_sell_value,
            "dayBuyQty": self.buy_qty - self.cf_buy_qty,
            "daySellQty": self.sell_qty - self.cf_sell_qty,
            "dayBuyValue": round(self.buy_value - self.cf_buy_value, 2),
            "daySellValue": round(self.sell_value - self.cf_sell_value, 2),
            "drvExpiryDate": inst.expiry_date_text,
            "drvOptionType": inst.option_kind if inst.is_option else None,
            "drvStrikePrice": inst.strike, "crossCurrency": False,
        }


@dataclass
class Holding:
    """Settled delivery quantity of one stock."""

    inst: Instrument
    qty: int
    avg_cost: float
    sold_today: int = 0

    def to_wire(self, ltp: float) -> dict:
        """Render as GET /holdings shows it."""
        return {
            "exchange": "ALL", "tradingSymbol": self.inst.symbol,
            "securityId": self.inst.security_id, "isin": "NA", "totalQty": self.qty,
            "dpQty": self.qty, "t1Qty": 0, "availableQty": self.qty - self.sold_today,
            "collateralQty": 0, "avgCostPrice": round(self.avg_cost, 2),
            "lastTradedPrice": ltp,
        }


def margin_per_unit(inst: Instrument, product: str, side: str, price: float,
                    underlying_price: float) -> float:
    """Return the funds blocked per unit of a new exposure."""
    if inst.is_option:
        if side == "BUY":
            return price
        return underlying_price * SHORT_OPTION_MARGIN + price
    if inst.is_derivative:
        return price * FUTURES_MARGIN
    if product == "CNC":
        return price if side == "BUY" else 0.0
    return price * INTRADAY_EQUITY_MARGIN


@dataclass
class Account:
    """One simulated Dhan client with its books."""

    client_id: str
    name: str
    sod: float
    orders: dict[str, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    positions: dict[tuple[str, str, str], Position] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    kill_switch: bool = False
    cash_delta: float = 0.0  # delivery cash flows since the start of day
    blocked: float = 0.0  # sum of the funds held back by open orders

    def position(self, inst: Instrument, product: str) -> Position:
        """Return (creating) the position for an instrument and product."""
        key = (inst.segment, inst.security_id, product)
        if key not in self.positions:
            self.positions[key] = Position(inst, product)
        return self.positions[key]

    def open_exposure(self, inst: Instrument, product: str) -> int:
        """Return the signed net quantity of a position (0 when none)."""
        pos = self.positions.get((inst.segment, inst.security_id, product))
        return pos.net if pos else 0

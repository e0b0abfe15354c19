"""The trading day around the matching loop: broker square-off and the overnight rollover."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from dhansim.clock import IST
from dhansim.portfolio import Account, Holding, Position

if TYPE_CHECKING:
    from dhansim.engine import Exchange

SQUARE_OFF = time(15, 20)  # Dhan squares off NSE/BSE intraday positions at 15:20 (INDIA.md)


def square_off_time(day: date) -> datetime:
    """Return when the broker squares off intraday positions on a date."""
    return datetime.combine(day, SQUARE_OFF, IST)


def square_off(exchange: Exchange) -> None:
    """Cancel pending intraday orders and close intraday positions with market orders."""
    for acc in exchange.accounts.values():
        for order in list(acc.orders.values()):
            if order.is_open and order.product == "INTRADAY" and order.status != "TRANSIT":
                exchange.finish(order, "CANCELLED", "RMS:Auto square-off of intraday orders")
        for pos in list(acc.positions.values()):
            if pos.product == "INTRADAY" and pos.net:
                exchange.place(acc, {
                    "transactionType": "SELL" if pos.net > 0 else "BUY",
                    "exchangeSegment": pos.inst.segment, "productType": "INTRADAY",
                    "orderType": "MARKET", "validity": "DAY",
                    "securityId": pos.inst.security_id, "quantity": abs(pos.net),
                    "correlationId": "AUTO-SQUAREOFF"})


def rollover(exchange: Exchange, today: date) -> None:
    """Start a new trading day: expire leftovers, settle delivery, carry F&O positions."""
    exchange.day = today
    exchange.squared_off = False
    for acc in exchange.accounts.values():
        for order in list(acc.orders.values()):
            if order.is_open and not order.amo:
                exchange.finish(order, "EXPIRED", "Order expired at market close")
        realized = sum(p.realized for p in acc.positions.values() if p.product != "CNC")
        carried: dict = {}
        for key, pos in acc.positions.items():
            if pos.product == "CNC" and pos.net:
                settle(acc, pos)
            elif pos.product == "MARGIN" and pos.net and not pos.inst.expired_on(today):
                carried[key] = _carry(pos)
        acc.sod += realized + acc.cash_delta
        acc.cash_delta = 0.0
        acc.positions = carried
        acc.orders = {k: o for k, o in acc.orders.items() if o.is_open}
        acc.blocked = sum(o.blocked for o in acc.orders.values())
        acc.trades = []
        acc.kill_switch = False
        for holding in acc.holdings.values():
            holding.sold_today = 0


def _carry(pos: Position) -> Position:
    qty, value = abs(pos.net), abs(pos.net) * pos.avg
    long = pos.net > 0
    return Position(pos.inst, pos.product, net=pos.net, avg=pos.avg,
                    buy_qty=qty if long else 0, sell_qty=0 if long else qty,
                    buy_value=value if long else 0.0, sell_value=0.0 if long else value,
                    cf_buy_qty=qty if long else 0, cf_sell_qty=0 if long else qty,
                    cf_buy_value=value if long else 0.0, cf_sell_value=0.0 if long else value)


def settle(acc: Account, pos: Position) -> None:
    """Move a delivery position into holdings."""
    held = acc.holdings.get(pos.inst.security_id)
    if held is None:
        held = acc.holdings[pos.inst.security_id] = Holding(pos.inst, 0, 0.0)
    if pos.net > 0:
        held.avg_cost = (held.avg_cost * held.qty + pos.avg * pos.net) / (held.qty + pos.net)
    held.qty += pos.net
    if held.qty <= 0:
        del acc.holdings[pos.inst.security_id]

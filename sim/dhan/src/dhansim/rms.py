"""Pre-trade risk checks that turn a TRANSIT order into PENDING or REJECTED."""

from __future__ import annotations

from dhansim.market import Market, Snapshot
from dhansim.orders import Order
from dhansim.portfolio import Account, margin_per_unit


def _on_tick(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


def order_margin(acc: Account, order: Order, qty: int, price: float, und_price: float) -> float:
    """Return funds an order blocks, ignoring the part that reduces an open position."""
    net = acc.open_exposure(order.inst, order.product)
    reducing = 0
    if order.product != "CNC":
        if order.txn == "SELL" and net > 0:
            reducing = min(qty, net)
        elif order.txn == "BUY" and net < 0:
            reducing = min(qty, -net)
    per_unit = margin_per_unit(order.inst, order.product, order.txn, price, und_price)
    return (qty - reducing) * per_unit


def reference_price(order: Order, snap: Snapshot) -> float:
    """Return the price used to value an order for margin."""
    if order.order_type in ("LIMIT", "STOP_LOSS") and order.price > 0:
        return order.price
    if order.order_type == "STOP_LOSS_MARKET" and order.trigger > 0:
        return order.trigger
    return snap.ltp


def reject_reason(acc: Account, order: Order, market: Market, available: float,
                  snap: Snapshot) -> str | None:
    """Return Dhan's rejection text for an order, or None when it passes."""
    inst, oid = order.inst, order.order_id
    if acc.kill_switch:
        return "RMS:Kill switch is active for the day, trading is disabled"
    if not inst.symbol:
        return f"RMS:{oid}:Invalid Security ID {inst.security_id} for {inst.segment}"
    if not inst.tradable:
        return f"RMS:{oid}:Order not allowed in index instruments"
    if inst.expired_on(snap.day):
        return f"RMS:{oid}:Contract has expired"
    if not order.amo and not market.is_open(inst):
        return "EXCH:16388:Market is Closed"
    if order.product == "CNC" and inst.is_derivative:
        return f"RMS:{oid}:Product type CNC is not allowed for derivatives"
    if order.quantity % inst.lot_size:
        return f"RMS:{oid}:Quantity should be in multiples of lot size {inst.lot_size}"
    freeze = inst.freeze_qty(snap.ltp or 1.0)
    if order.quantity > freeze:
        return f"RMS:{oid}:Order quantity exceeds freeze limit of {freeze}"
    priced = [p for p in (order.price if order.order_type in ("LIMIT", "STOP_LOSS") else 0,
                          order.trigger if order.order_type.startswith("STOP") else 0) if p]
    for price in priced:
        if not _on_tick(price, inst.tick_size):
            return f"RMS:{oid}:Price {price} is not a multiple of tick size {inst.tick_size}"
    low, high = market.circuit(inst, snap)
    for price in priced:
        if not low - 1e-9 <= price <= high + 1e-9:
            return (f"RMS:{oid}:Order Price needs to be Circuit Limits of "
                    f"{low:.2f} to {high:.2f}")
    if order.product == "CNC" and order.txn == "SELL":
        held = acc.holdings.get(inst.security_id)
        free = (held.qty if held else 0) + acc.open_exposure(inst, "CNC") - _pending_cnc_sells(
            acc, order)
        if order.quantity > free:
            return f"RMS:{oid}:Insufficient holdings. Available qty {max(free, 0)}"
    und = market.master.underlying_of(inst) if inst.is_option else None
    und_price = market.snapshot(und).ltp if und else 0.0
    required = order_margin(acc, order, order.quantity, reference_price(order, snap), und_price)
    if required > available + 1e-6:
        return (f"RMS:{oid}:Margin Shortfall:Rs.{required - available:.2f} "
                f"Available:Rs.{available:.2f} Required:Rs.{required:.2f}")
    return None


def _pending_cnc_sells(acc: Account, order: Order) -> int:
    return sum(o.remaining for o in acc.orders.values()
               if o is not order and o.is_open and o.status != "TRANSIT"
               and o.product == "CNC" and o.txn == "SELL"
               and o.inst.security_id == order.inst.security_id)

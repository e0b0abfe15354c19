"""The exchange: order lifecycle, matching loop, fills into positions and funds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from dhansim import errors, session
from dhansim.clock import IST
from dhansim.instruments import Instrument
from dhansim.market import Market
from dhansim.matching import evaluate, protected_limit
from dhansim.orders import Order, Trade
from dhansim.portfolio import Account, Holding, margin_per_unit
from dhansim.rms import order_margin, reference_price, reject_reason

MAX_MODIFICATIONS = 25
Listener = Callable[[str, dict], None]


class Exchange:
    """Own every account and order and move orders through Dhan's statuses."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.accounts: dict[str, Account] = {}
        self.listeners: list[Listener] = []
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.day: date = market.clock.now_ist().date()
        self.squared_off = False

    # ----- accounts -------------------------------------------------------------------------
    def add_account(self, client_id: str, funds: float, holdings: list[dict] | None = None,
                    name: str = "SIM CLIENT") -> Account:
        """Create an account with starting funds and optional settled holdings."""
        acc = Account(client_id=client_id, name=name, sod=float(funds))
        for h in holdings or []:
            inst = self.market.master.get(h.get("exchangeSegment", "NSE_EQ"), h["securityId"])
            if inst is None:
                raise errors.bad_input(f"Unknown holding securityId {h['securityId']}")
            acc.holdings[inst.security_id] = Holding(inst, int(h["quantity"]),
                                                     float(h.get("avgCostPrice", 0.0)))
        self.accounts[client_id] = acc
        return acc

    def funds(self, acc: Account) -> dict:
        """Return the fund-limit figures of an account."""
        blocked = acc.blocked
        pos_margin = sum(abs(p.net) * margin_per_unit(p.inst, p.product, "BUY" if p.net > 0
                                                      else "SELL", p.avg,
                                                      self._und_price(p.inst))
                         for p in acc.positions.values() if p.product != "CNC" and p.net)
        realized = sum(p.realized for p in acc.positions.values() if p.product != "CNC")
        available = acc.sod + realized + acc.cash_delta - blocked - pos_margin
        return {"available": available, "blocked": blocked + pos_margin,
                "spent": max(0.0, -acc.cash_delta), "realized": realized}

    def _reblock(self, acc: Account, order: Order) -> None:
        """Recompute the funds an open order holds back (kept on the order for speed)."""
        value = 0.0
        if order.is_open:
            snap = self.market.snapshot(order.inst)
            value = order_margin(acc, order, order.remaining, reference_price(order, snap),
                                 self._und_price(order.inst))
        acc.blocked += value - order.blocked
        order.blocked = value

    def _und_price(self, inst: Instrument) -> float:
        und = self.market.master.underlying_of(inst) if inst.is_option else None
        return self.market.snapshot(und).ltp if und else 0.0

    # ----- order entry ----------------------------------------------------------------------
    def _new_id(self) -> str:
        now = self.market.clock.now_ist()
        return f"52{now:%y%m%d}{next(self._ids):05d}"

    def place(self, acc: Account, req: dict) -> Order:
        """Accept an order into the book in TRANSIT; risk checks run on the next step."""
        inst = self.market.master.get(req["exchangeSegment"], req["securityId"])
        if inst is None:
            inst = Instrument(exchange=req["exchangeSegment"].split("_")[0],
                              segment=req["exchangeSegment"], security_id=req["securityId"],
                              instrument="EQUITY", symbol="", display_name="", lot_size=1,
                              tick_size=0.05, expiry=None, strike=0.0, option_type="XX",
                              underlying="", series="", row=())
        now = self.market.clock.now()
        oid = self._new_id()
        # Dhan generates "<clientId>-<epoch ms>" when no correlationId is sent.
        default_tag = f"{acc.client_id}-{int(now.timestamp() * 1000)}"
        order = Order(
            order_id=oid, client_id=acc.client_id, inst=inst,
            correlation_id=req.get("correlationId") or default_tag,
            txn=req["transactionType"], product=req["productType"],
            order_type=req["orderType"], requested_type=req["orderType"],
            validity=req["validity"], quantity=req["quantity"],
            disclosed=req.get("disclosedQuantity", 0), price=req.get("price", 0.0),
            trigger=req.get("triggerPrice", 0.0), amo=req.get("afterMarketOrder", False),
            bo_profit=req.get("boProfitValue") or 0.0, bo_stop=req.get("boStopLossValue") or 0.0,
            created=now, updated=now,
        )
        acc.orders[oid] = order
        self._emit(order)
        return order

    def place_sliced(self, acc: Account, req: dict) -> list[Order]:
        """Split an order at the freeze quantity and place each slice."""
        inst = self.market.master.get(req["exchangeSegment"], req["securityId"])
        if inst is None:
            return [self.place(acc, req)]
        freeze = inst.freeze_qty(self.market.snapshot(inst).ltp or 1.0)
        freeze -= freeze % inst.lot_size or 0
        qty, slices = req["quantity"], []
        while qty > 0:
            part = min(qty, max(freeze, inst.lot_size))
            slices.append(self.place(acc, {**req, "quantity": part}))
            qty -= part
        return slices

    def modify(self, acc: Account, order_id: str, req: dict) -> Order:
        """Change an open order's price, quantity, trigger, type or validity."""
        order = acc.orders.get(order_id)
        if order is None:
            raise errors.order_error()
        if not order.is_open:
            raise errors.order_error(f"Order is already {order.status}, cannot be modified")
        if order.modifications >= MAX_MODIFICATIONS:
            raise errors.order_error("Maximum modification limit of 25 reached for the order")
        qty = req.get("quantity") or order.quantity
        inst = order.inst
        if qty <= order.filled or (inst.lot_size and qty % inst.lot_size):
            raise errors.bad_input("Invalid quantity for modification")
        new_type = req.get("orderType") or order.requested_type
        price = req.get("price", order.price)
        tick = inst.tick_size
        if new_type in ("LIMIT", "STOP_LOSS") and (price <= 0 or abs(price / tick - round(
                price / tick)) > 1e-6):
            raise errors.bad_input("Invalid Price for orderType")
        order.quantity, order.requested_type = qty, new_type
        order.order_type = "LIMIT" if new_type == "MARKET" else new_type
        order.price = price if new_type != "MARKET" else protected_limit(
            order.txn, self.market.snapshot(inst))
        order.trigger = req.get("triggerPrice", order.trigger)
        order.disclosed = req.get("disclosedQuantity", order.disclosed)
        order.validity = req.get("validity") or order.validity
        order.modifications += 1
        order.last_seq = None
        order.updated = self.market.clock.now()
        if order.status != "TRANSIT":
            self._reblock(acc, order)
        self._emit(order)
        return order

    def cancel(self, acc: Account, order_id: str) -> Order:
        """Cancel an open order (refused while it is still in transit)."""
        order = acc.orders.get(order_id)
        if order is None:
            raise errors.order_error()
        if order.status == "TRANSIT":
            raise errors.order_error("Order is in Transit state")
        if not order.is_open:
            raise errors.order_error(f"Order is already {order.status}, cannot be cancelled")
        self.finish(order, "CANCELLED", "CANCELLED")
        return order

    # ----- the matching loop ----------------------------------------------------------------
    async def run(self, interval: float = 0.05) -> None:
        """Advance every open order forever, every interval wall seconds."""
        while True:
            self.step()
            await asyncio.sleep(interval)

    def step(self) -> None:
        """Advance all accounts to the clock's current time."""
        now = self.market.clock.now()
        today = now.astimezone(IST).date()
        if today != self.day:
            session.rollover(self, today)
        if not self.squared_off and now >= session.square_off_time(self.day):
            self.squared_off = True
            session.square_off(self)
        for acc in self.accounts.values():
            for order in [o for o in acc.orders.values() if o.is_open]:
                self._advance(acc, order, now)

    def _advance(self, acc: Account, order: Order, now: datetime) -> None:
        inst = order.inst
        snap = self.market.snapshot(inst, now) if inst.symbol else None
        if order.status == "TRANSIT":
            self._accept(acc, order, snap, now)
            if not order.is_open:
                return
        if order.validity == "DAY" and self._past_close(order, now):
            self.finish(order, "EXPIRED", "Order expired at market close")
            return
        if not self.market.is_open(inst, now):
            return
        if order.requested_type == "MARKET" and order.order_type == "MARKET":
            order.order_type, order.price = "LIMIT", protected_limit(order.txn, snap)
        key = (snap.day, snap.seq)
        if key == order.last_seq:
            return
        order.last_seq = key
        fill = evaluate(order.txn, order.order_type, order.price, order.trigger,
                        order.triggered, order.remaining, inst.lot_size, snap)
        if fill.triggered and not order.triggered:
            order.triggered, order.updated = True, now
        if fill.qty:
            self._fill(acc, order, fill.qty, fill.price, now)
        if order.validity == "IOC" and order.is_open:
            self.finish(order, "CANCELLED", "IOC order cancelled for unfilled quantity")

    def _accept(self, acc: Account, order: Order, snap, now: datetime) -> None:
        if snap is None:
            snap = self.market.snapshot(self._placeholder_anchor(), now)
            snap = replace(snap, day=now.astimezone(IST).date())
        reason = reject_reason(acc, order, self.market, self.funds(acc)["available"], snap)
        order.updated = now
        if reason:
            order.status, order.oms_code, order.oms_desc = "REJECTED", "16283", reason
            self._emit(order)
            return
        order.status, order.oms_desc = "PENDING", "CONFIRMED"
        order.exchange_order_id = f"1100000{int(order.order_id[-8:]):09d}"
        order.exchange_time = now
        if order.requested_type == "MARKET" and self.market.is_open(order.inst, now):
            order.order_type, order.price = "LIMIT", protected_limit(order.txn, snap)
        self._reblock(acc, order)
        self._emit(order)

    def _placeholder_anchor(self) -> Instrument:
        return next(iter(self.market.master.by_key.values()))

    def _past_close(self, order: Order, now: datetime) -> bool:
        created = order.created.astimezone(IST)
        day = created.date()
        if order.amo and created >= self.market.session_close(day):
            # An after-market order placed after the close lives until the next session's end.
            day += timedelta(days=1)
            while not self.market.prices.is_trading_day(order.inst, day):
                day += timedelta(days=1)
        return now >= self.market.session_close(day)

    def _fill(self, acc: Account, order: Order, qty: int, price: float, now: datetime) -> None:
        total = order.avg_price * order.filled + price * qty
        order.filled += qty
        order.avg_price = round(total / order.filled, 2)
        order.last_fill_price = price
        order.updated = order.exchange_time = now
        order.status = "TRADED" if order.remaining == 0 else "PART_TRADED"
        order.oms_desc = "TRADE CONFIRMED" if order.status == "TRADED" else "PART TRADED"
        trade = Trade(order, f"{next(self._trade_ids):08d}", qty, price, now)
        order.trades.append(trade)
        acc.trades.append(trade)
        acc.position(order.inst, order.product).apply(order.txn, qty, price)
        self._reblock(acc, order)
        if order.product == "CNC":
            acc.cash_delta += qty * price * (1 if order.txn == "SELL" else -1)
            held = acc.holdings.get(order.inst.security_id)
            if order.txn == "SELL" and held:
                held.sold_today = min(held.qty, held.sold_today + qty)
        self._emit(order)

    def finish(self, order: Order, status: str, reason: str) -> None:
        """Close an order with a final status and tell its listeners."""
        acc = self.accounts[order.client_id]
        acc.blocked -= order.blocked
        order.blocked = 0.0
        order.status, order.oms_desc = status, reason
        order.updated = self.market.clock.now()
        self._emit(order)

    def _emit(self, order: Order) -> None:
        inst = order.inst
        ref = self.market.snapshot(inst).ltp if inst.symbol else 0.0
        frame = order.to_alert(ref)
        for listener in list(self.listeners):
            listener(order.client_id, frame)

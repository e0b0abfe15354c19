"""Stand-ins for the services execution talks to: backtest, brokerage (a filling broker), marketdata.

The fake broker consumes intents from ORDERS like brokerage does, remembers every one (so a
test can prove none was duplicated), and fills them when the test says at the price it says
(the next bar's open, as a backtest fills), publishing `evt.<user>.order.filled` to EVENTS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import orjson
from contracts import backtest as bt
from contracts import brokerage as br
from contracts import headers as hd
from contracts import marketdata as md
from contracts import orders as od
from contracts import streams, subjects
from contracts.events.base import encode
from contracts.events.orders import OrderFilled, OrderIntent
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from svckit.jetstream import ensure_stream

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def strategy(user: str, sid: str = "s1", **kw) -> bt.Strategy:
    """Return a strategy reply with sensible defaults."""
    base = dict(id=sid, version_id=f"{sid}-v1", version=1, latest_version=1, status="backtested",
                name="sma cross", description="", timeframe="1m",
                instrument=bt.StrategyInstrument(segment="NSE_EQ", security_id="2885",
                                                 symbol="RELIANCE"),
                entry_rule="sma(close, 5) crosses above sma(close, 20)",
                exit_rule="sma(close, 5) crosses below sma(close, 20)",
                position_size=1, max_positions=1, product_type="intraday", direction="long",
                created_at=NOW, updated_at=NOW)
    base.update(kw)
    return bt.Strategy(**base)


class Fakes:
    """Every fake endpoint plus the filling broker, on one NATS connection."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.strategies: dict[tuple[str, str], bt.Strategy] = {}
        self.accounts: dict[tuple[str, str], br.Account] = {}
        self.history: list[md.Candle] = []
        self.intents: list[OrderIntent] = []
        self.pending: list[OrderIntent] = []
        self.positions: dict[tuple[str, str], int] = defaultdict(int)
        self.cancelled: list[str] = []
        self.killed: list[str] = []
        self._task: asyncio.Task | None = None

    def add_account(self, user: str, account_id: str, broker: str = "paper",
                    status: str = "active") -> None:
        """Link an account for a user."""
        self.accounts[(user, account_id)] = br.Account(
            id=account_id, broker=broker, label="", status=status, created_at=NOW, updated_at=NOW)

    async def start(self) -> None:
        """Answer requests and consume intents."""
        routes = {
            bt.GET_STRATEGY: self._strategy, br.GET_ACCOUNT: self._account,
            br.TEST_ACCOUNT: self._test, br.PORTFOLIO_POSITIONS: self._positions,
            od.CANCEL_ORDER: self._cancel, br.KILL_SWITCH: self._kill,
            md.INSTRUMENT_BY_ID: self._instrument, md.GET_HISTORY: self._history,
            md.MARKET_OPEN: self._open, md.LEASE: self._lease,
        }
        for subject, fn in routes.items():
            await self.nc.subscribe(subject, cb=self._wrap(fn))
        for spec in (streams.ORDERS, streams.EVENTS, streams.MD_BARS):
            await ensure_stream(self.js, spec)
        self._task = asyncio.create_task(self._consume())

    async def stop(self) -> None:
        """Stop consuming."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _wrap(self, fn):
        async def cb(msg):
            user = (msg.headers or {}).get(hd.USER_ID, "")
            try:
                reply = fn(user, orjson.loads(msg.data or b"{}"))
                await msg.respond(reply.model_dump_json(by_alias=True).encode())
            except KeyError:
                body = orjson.dumps({"error": "NOT_FOUND", "message": "Not found", "code": 404})
                await self.nc.publish(msg.reply, body, headers={hd.SERVICE_ERROR: "Not found",
                                                               hd.SERVICE_ERROR_CODE: "404"})
        return cb

    def _strategy(self, user, body):
        return self.strategies[(user, body["id"])]

    def _account(self, user, body):
        return self.accounts[(user, body["accountId"])]

    def _test(self, user, body):
        return br.ConnectionTest(ok=True, status="active")

    def _positions(self, user, body):
        items = [br.Position(account_id=a, security_id=s, exchange_segment="NSE_EQ",
                             product_type="INTRADAY", net_quantity=q)
                 for (a, s), q in self.positions.items() if a == body.get("accountId")]
        return br.PositionList(items=items)

    def _cancel(self, user, body):
        self.cancelled.append(body["orderId"])
        return od.Order.model_construct()

    def _kill(self, user, body):
        self.killed.append(body["accountId"])
        return br.KillSwitchState(accounts={body["accountId"]: True})

    def _instrument(self, user, body):
        return md.Instrument(segment=body["segment"], security_id=body["securityId"],
                             exchange="NSE", symbol="RELIANCE", instrument="EQUITY", lot_size=1,
                             tick_size=Decimal("0.05"))

    def _history(self, user, body):
        until = datetime.fromisoformat(body["to"])
        return md.History(segment=body.get("segment") or "NSE_EQ",
                          security_id=body.get("securityId") or "", interval=body["interval"],
                          candles=[c for c in self.history if c.ts < until])

    def _open(self, user, body):
        return md.MarketSession(segment="NSE_EQ", at=NOW, open=True)

    def _lease(self, user, body):
        return md.LeaseGranted(owner=body["owner"], instruments=1, expires_at=NOW)

    async def _consume(self) -> None:
        cfg = ConsumerConfig(durable_name="fake-brokerage", ack_policy=AckPolicy.EXPLICIT)
        sub = await self.js.pull_subscribe(subjects.order_intents_all(), durable="fake-brokerage",
                                           stream=streams.ORDERS.name, config=cfg)
        try:
            while True:
                try:
                    msgs = await sub.fetch(50, timeout=0.2)
                except Exception:
                    if asyncio.current_task().cancelling():
                        raise asyncio.CancelledError from None
                    continue
                for m in msgs:
                    intent = msgspec.json.decode(m.data, type=OrderIntent)
                    self.intents.append(intent)
                    self.pending.append(intent)
                    await m.ack()
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass

    async def fill_pending(self, price_paise: int, at: datetime) -> int:
        """Fill every pending intent at one price (the next bar's open); return how many."""
        done = 0
        while self.pending:
            i = self.pending.pop(0)
            sign = 1 if i.transaction_type == "BUY" else -1
            self.positions[(i.account_id, i.security_id)] += sign * i.quantity
            ev = OrderFilled(event_id=str(uuid.uuid4()), ts_event=at, ts_init=at,
                             order_id=str(uuid.uuid4()), intent_id=i.intent_id, user_id=i.user_id,
                             account_id=i.account_id, deployment_id=i.deployment_id,
                             security_id=i.security_id, exchange_segment=i.exchange_segment,
                             transaction_type=i.transaction_type, product_type=i.product_type,
                             order_type=i.order_type, quantity=i.quantity,
                             filled_quantity=i.quantity, average_price=price_paise,
                             last_fill_quantity=i.quantity, last_fill_price=price_paise,
                             status="filled")
            await self.js.publish(subjects.user_event(i.user_id, "order", "filled"), encode(ev),
                                  headers={hd.MSG_ID: ev.event_id})
            done += 1
        return done

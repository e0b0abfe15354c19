"""One deployment in memory: its evaluators, open trades and the decisions a bar or tick makes.

Everything here is synchronous and free of I/O so that the same code runs in tests, in the
benchmark and in the engine; the engine commits what `on_bar` / `on_tick` return.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts.events.marketdata import Bar
from strategy import parse
from strategy.cells import BarView
from strategy.incremental import RuleSet, bar_view

from . import domain as d


@dataclass
class TradeState:
    """One position of a deployment as the engine tracks it (prices in paise)."""

    id: str
    entry_intent_id: str
    status: str  # pending | open | closed
    quantity: int = 0
    exited: int = 0
    entry_price: int | None = None
    stop: int | None = None
    target: int | None = None
    exiting: bool = False
    exit_on_fill: dict | None = None
    """An exit the rules asked for while the entry order was still unfilled: sent as soon
    as the fill arrives (the backtest, which fills at once, exits on that bar)."""

    @property
    def open_quantity(self) -> int:
        """Return the units still held."""
        return self.quantity - self.exited


@dataclass
class Decision:
    """A signal (with its intent) or a refusal, ready to be committed."""

    action: str
    side: str
    quantity: int
    kind: str  # signal | refusal
    ts: datetime
    rule: str = ""
    intent_id: str | None = None
    leg: str = ""
    trade_ids: list[str] = field(default_factory=list)
    new_trade_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    bar: Bar | None = None
    price: int | None = None


@dataclass
class Context:
    """What the engine knows outside the deployment when it decides."""

    market_open: bool = True
    stale_feed: str | None = None
    account_day_pnl: int = 0
    account_pnl: Any = None
    """callable(account_id) -> today's P&L of the account; asked only when an entry fires
    (summing an account's deployments for every deployment on every bar was a tenth of a
    quiet bar's cost). None: `account_day_pnl` is used."""
    pacer_ok: Any = None  # callable(account_id) -> bool; None: no pacing
    view: Any = None
    """The bar as the evaluators read it (`bar_view`), shared by an instrument's deployments;
    None: read it here."""


class Runner:
    """The live state of one deployment."""

    def __init__(self, row: dict, square_off: str, cutoff: str, state_every: int = 1,
                 state_max_age_s: float = 86_400.0) -> None:
        self.row = row
        self.id = str(row["id"])
        self.direction = row["direction"]
        self.intraday = row["product"] == "INTRADAY"
        self.units = int(row["quantity"]) * int(row.get("lot_size") or 1)
        self.square_off = d.parse_hhmm(square_off)
        self.cutoff = d.parse_hhmm(cutoff)
        # one set: the sub-expressions the two rules share are computed once per bar
        self.rules = RuleSet(parse(row["entry_rule"]), parse(row["exit_rule"]))
        self.entry, self.exit = self.rules.evaluators
        self.status = row["status"]
        self.entries_paused: str | None = row.get("entries_paused")
        self.last_bar_start: datetime | None = row.get("last_bar_start")
        self.last_price: int | None = row.get("last_price_paise")
        self.trades: dict[str, TradeState] = {}
        self.realized_today = 0
        # evaluator state checkpoints: every `state_every` bars, or when the stored one is
        # `state_max_age_s` older than the bar (decisions or not). The phase spreads
        # the deployments of an instrument over the bars; None stores at the next bar.
        self.state_every = max(1, state_every)
        self.state_max_age_s = state_max_age_s
        self.unsaved = zlib.crc32(self.id.encode()) % self.state_every
        self.saved_at: datetime | None = None
        state = row.get("state")
        if state:
            self.entry.restore(state["entry"])
            self.exit.restore(state["exit"])

    # --- state -----------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Return the evaluators' state (stored with every bar)."""
        return {"entry": self.entry.snapshot(), "exit": self.exit.snapshot()}

    def checkpoint_due(self, bar: Bar) -> bool:
        """Count a bar; True when the state should be stored with it."""
        self.unsaved += 1
        return self.saved_at is None or self.unsaved >= self.state_every \
            or (bar.start - self.saved_at).total_seconds() >= self.state_max_age_s

    def stored(self, bar_start: datetime) -> None:
        """Note that the state as of this bar is being stored."""
        self.unsaved = 0
        self.saved_at = bar_start

    def warm_up(self, bars: list[Bar]) -> None:
        """Feed history bars (no decisions) so the indicators have values at the first live bar."""
        for bar in bars:
            self.rules.update(_view(bar))
            self.last_bar_start = bar.start
            self.last_price = bar.close

    def open_trades(self) -> list[TradeState]:
        """Return the positions held or being entered."""
        return [t for t in self.trades.values() if t.status in ("pending", "open")]

    def unrealized(self) -> int:
        """Return the unrealized P&L in paise at the last price."""
        if self.last_price is None:
            return 0
        return sum(d.pnl(self.direction, t.open_quantity, t.entry_price, self.last_price)
                   for t in self.open_trades() if t.entry_price is not None)

    def day_pnl(self) -> int:
        """Return today's realized plus unrealized P&L in paise."""
        return self.realized_today + self.unrealized()

    # --- decisions -------------------------------------------------------------------

    def on_bar(self, bar: Bar, ctx: Context) -> list[Decision] | None:
        """Evaluate one closed bar; None when it was already seen (a redelivery)."""
        if self.last_bar_start is not None and bar.start <= self.last_bar_start:
            return None
        out = self._levels(bar.low if self.direction == "long" else bar.high, bar.end, bar,
                           use_bar_extremes=bar) if self.trades else []
        ts, view = ctx.view or read_bar(bar)
        entry_fire, exit_fire = self.rules.update_view(ts, view)
        self.last_bar_start = bar.start
        self.last_price = bar.close
        if exit_fire:
            values = self.exit.values()  # one explanation for every trade this exit closes
            out += self._exit_all(d.EXIT, bar.end, bar.start, bar, self.row["exit_rule"], values)
            for t in self.trades.values():
                if t.status == "pending" and not t.exiting and t.exit_on_fill is None:
                    t.exit_on_fill = {"ts": bar.end, "bar": bar, "rule": self.row["exit_rule"],
                                      "values": values}
        if self.intraday and d.ist_time(bar.end) >= self.square_off:
            day = bar.end.astimezone(d.ist(bar.end).tzinfo).date().isoformat()
            out += self._exit_all(d.SQUARE_OFF, bar.end, day, bar, "square-off", {})
        if entry_fire and not exit_fire:
            out.append(self._entry(bar, ctx))
        return out

    def exits_due(self) -> list[Decision]:
        """Return the exits deferred until their entry filled, for the trades now held."""
        out = []
        for t in self.trades.values():
            e = t.exit_on_fill
            if e is None or t.status != "open" or t.exiting or t.open_quantity <= 0:
                continue
            t.exit_on_fill, t.exiting = None, True
            iid = d.intent_id(self.id, t.id, d.EXIT)  # one per trade: it exits once
            out.append(Decision(
                action=d.EXIT, side=d.exit_side(self.direction), quantity=t.open_quantity,
                kind="signal", ts=e["ts"], rule=e["rule"], intent_id=iid, leg=d.EXIT,
                trade_ids=[t.id], values=e["values"], bar=e["bar"]))
        return out

    def on_tick(self, price: int, at: datetime) -> list[Decision]:
        """Check stop-loss and target on a tick."""
        self.last_price = price
        return self._levels(price, at, None)

    def square_off_now(self, at: datetime) -> list[Decision]:
        """Square off intraday positions at the configured time even when no bar arrives."""
        if not self.intraday or d.ist_time(at) < self.square_off:
            return []
        day = d.ist(at).date().isoformat()
        return self._exit_all(d.SQUARE_OFF, at, day, None, "square-off", {})

    def flatten(self, at: datetime, tag: str) -> list[Decision]:
        """Exit every position now (kill switch, stop)."""
        return self._exit_all(d.KILL_SWITCH, at, tag, None, "kill switch", {})

    def _levels(self, price: int, at: datetime, bar: Bar | None,
                use_bar_extremes: Bar | None = None) -> list[Decision]:
        out = []
        for t in self.trades.values():
            if t.status != "open" or t.exiting or t.open_quantity <= 0:
                continue
            if use_bar_extremes is not None:
                b = use_bar_extremes
                worst, best = (b.low, b.high) if self.direction == "long" else (b.high, b.low)
                hit = d.level_hit(self.direction, worst, t.stop, None) or \
                    d.level_hit(self.direction, best, None, t.target)
                price = worst if hit == d.STOP_LOSS else best
            else:
                hit = d.level_hit(self.direction, price, t.stop, t.target)
            if hit is None:
                continue
            t.exiting = True
            level = t.stop if hit == d.STOP_LOSS else t.target
            out.append(Decision(
                action=hit, side=d.exit_side(self.direction), quantity=t.open_quantity,
                kind="signal", ts=at, rule=f"{hit} at {level / 100:.2f}",
                intent_id=d.intent_id(self.id, t.id, hit), leg=f"{hit}:{t.id}",
                trade_ids=[t.id], bar=bar, price=price))
        return out

    def _exit_all(self, action: str, at: datetime, key: datetime | str, bar: Bar | None,
                  rule: str, values: dict) -> list[Decision]:
        """Exit every held position at once, intent id (deployment, key, action)."""
        held = [t for t in self.trades.values()
                if t.status == "open" and not t.exiting and t.open_quantity > 0]
        if not held:
            return []
        iid = d.intent_id(self.id, key, action)
        for t in held:
            t.exiting = True
        return [Decision(action=action, side=d.exit_side(self.direction),
                         quantity=sum(t.open_quantity for t in held), kind="signal", ts=at,
                         rule=rule, intent_id=iid, leg=action, trade_ids=[t.id for t in held],
                         values=values, bar=bar)]

    def _entry(self, bar: Bar, ctx: Context) -> Decision:
        open_notional = sum(t.open_quantity * (t.entry_price or bar.close)
                            for t in self.open_trades()) + \
            sum(self.units * bar.close for t in self.open_trades() if t.status == "pending")
        r = self.row
        after_cutoff = self.intraday and (d.ist_time(bar.end) >= self.cutoff
                                          or d.ist(bar.end).date() != d.ist(bar.start).date())
        reasons = d.entry_refusals(d.EntryCheck(
            paused=self.status != "active" or bool(self.entries_paused and not ctx.stale_feed),
            open_positions=len(self.open_trades()), max_positions=int(r["max_positions"]),
            units=self.units, max_quantity=r.get("max_quantity"), price=bar.close,
            open_notional=open_notional, max_notional=r.get("max_notional_paise"),
            day_pnl=self.day_pnl(), daily_loss_limit=r.get("daily_loss_limit_paise"),
            account_day_pnl=ctx.account_pnl(r["account_id"]) if ctx.account_pnl is not None
            else ctx.account_day_pnl,
            account_daily_loss_limit=r.get("account_daily_loss_limit_paise"),
            market_open=ctx.market_open, after_cutoff=after_cutoff, stale_feed=ctx.stale_feed))
        if not reasons and ctx.pacer_ok is not None and not ctx.pacer_ok(r["account_id"]):
            reasons.append(f"{d.R_PACING}: more than the allowed orders per second on the account")
        dec = Decision(action=d.ENTRY, side=d.entry_side(self.direction), quantity=self.units,
                       kind="refusal" if reasons else "signal", ts=bar.end,
                       rule=r["entry_rule"], reasons=reasons, values=self.entry.values(), bar=bar)
        if not reasons:
            dec.intent_id = d.intent_id(self.id, bar.start, d.ENTRY)
            dec.leg = d.ENTRY
            dec.new_trade_id = dec.intent_id
            self.trades[dec.intent_id] = TradeState(id=dec.intent_id,
                                                    entry_intent_id=dec.intent_id,
                                                    status="pending")
        return dec


def read_bar(bar: Bar) -> tuple[datetime, BarView]:
    """Return the bar as the evaluators read it."""
    return bar_view(_view(bar))


def _view(bar: Bar) -> dict:
    # Rules compare with rupee constants (`close > 2500`), so evaluate in rupees, as backtests do.
    return {"ts": bar.start, "open": bar.open / 100, "high": bar.high / 100,
            "low": bar.low / 100, "close": bar.close / 100, "volume": bar.volume}


def pct(value: Any) -> Decimal | None:
    """Return a stored percentage as Decimal (None stays None)."""
    return None if value is None else Decimal(str(value))

"""Run a backtest: signals in, trades, equity curve and metrics out (ARCHITECTURE.md §8).

Semantics, bar by bar (bar ``t`` has open, high, low, close; signals are read at its close):

1. At the open of ``t+1``: an exit signal of bar ``t`` closes every open position at the open
   (reason ``signal``); on the square-off bar the same happens (reason ``square_off``).
2. Then an entry signal of bar ``t`` opens one position at that open, if fewer than
   ``max_positions`` are open and bar ``t`` has no exit signal (an exit cancels a same-bar entry).
3. Inside the bar, each open position checks its stop and target (on its entry bar too,
   unless ``stops_from_next_bar``): an open beyond a level fills at the open; otherwise a stop
   touched by the low (long) / high (short) fills at the stop, else a touched target at the
   target; both touched means the stop (the path inside a bar is unknown: assume the worst).
4. Without a square-off bar in a day (e.g. daily bars, short sessions), intraday positions
   close at the close of the day's last bar; whatever is open at the end closes at the last
   close (reason ``end``).

Fill prices are rounded to the paisa after adverse slippage; P&L and charges are integer paise.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from btengine import costs
from btengine.bars import DAY_NS, IST_OFFSET_NS, Bars, as_bars
from btengine.metrics import compute_metrics
from btengine.result import Result, Trades
from btengine.selection import (
    END,
    SQUARE_OFF,
    StopScanner,
    common_exits,
    entry_fills,
    select_general,
    select_single,
)
from btengine.settings import Settings

_EPOCH = date(1970, 1, 1)


def run(bars, entries, exits, settings: Settings | None = None) -> Result:
    """Backtest boolean entry/exit signals on bars and return trades, equity and metrics."""
    s = settings or Settings()
    b = as_bars(bars)
    entries = np.asarray(entries, dtype=bool)
    exits = np.asarray(exits, dtype=bool)
    if entries.shape != (len(b),) or exits.shape != (len(b),):
        raise ValueError("entries and exits must be 1-d with one value per bar")
    if len(b) == 0:
        raise ValueError("no bars")
    ef = entry_fills(b, entries, exits, s)
    ckey, creason = common_exits(b, exits, s, ef)
    entry_paise_all = fill_paise(b.open[ef], buy=s.sign > 0, s=s)
    scanner = None
    if s.stop_loss_pct or s.target_pct:
        scanner = StopScanner(b, s, entry_paise_all / 100)
    if s.max_positions == 1:
        plan = select_single(ef, ckey, creason, scanner, b)
    else:
        plan = select_general(ef, ckey, creason, scanner, b, s.max_positions)
    entry_paise = fill_paise(b.open[plan.entry_bar], buy=s.sign > 0, s=s)
    exit_paise = fill_paise(plan.exit_raw, buy=s.sign < 0, s=s)
    trades = _trades(b, s, plan, entry_paise, exit_paise)
    equity = equity_curve(b, s, trades)
    exposure = exposure_pct(len(b), trades.entry_bar, plan.exit_key)
    metrics = compute_metrics(b, equity, trades, s, exposure)
    return Result(settings=s, bars=b, trades=trades, equity=equity, metrics=metrics)


def fill_paise(price: np.ndarray, *, buy: bool, s: Settings) -> np.ndarray:
    """Return fill prices in integer paise after adverse slippage."""
    price = np.asarray(price, dtype=np.float64)
    if s.slippage_bps or s.slippage_ticks:
        step = s.slippage_ticks * s.tick_size
        if buy:
            price = price * (1 + s.slippage_bps / 1e4) + step
        else:
            price = price * (1 - s.slippage_bps / 1e4) - step
    return np.rint(price * 100).astype(np.int64)


def _trades(b: Bars, s: Settings, plan, entry_paise, exit_paise) -> Trades:
    exit_bar = plan.exit_key // 2
    close_exit = (plan.exit_key % 2 == 1) & ((plan.reason == SQUARE_OFF) | (plan.reason == END))
    exit_time = b.ts[exit_bar] + np.where(close_exit, b.interval_ns, 0)
    # lots × the lot size in force at entry when the bars carry one (F&O lot sizes change)
    if b.lot_size is not None:
        units = s.quantity * b.lot_size[plan.entry_bar]
    else:
        units = np.full(len(plan.entry_bar), s.units, dtype=np.int64)
    gross = s.sign * units * (exit_paise - entry_paise)
    n = len(plan.entry_bar)
    entry_charges = np.zeros(n, dtype=np.int64)
    exit_charges = np.zeros(n, dtype=np.int64)
    components: dict[str, int] = dict.fromkeys(
        ("brokerage", "stt", "exchange", "stamp", "sebi", "ipft", "gst"), 0
    )
    if s.costs and n:
        entry_side, exit_side = ("buy", "sell") if s.sign > 0 else ("sell", "buy")
        entry_charges = _side_charges(
            b, s, entry_side, plan.entry_bar, entry_paise * units, components
        )
        exit_charges = _side_charges(b, s, exit_side, exit_bar, exit_paise * units, components)
    charges = entry_charges + exit_charges
    return Trades(
        entry_bar=plan.entry_bar,
        exit_bar=exit_bar,
        entry_time=b.ts[plan.entry_bar],
        exit_time=exit_time,
        sign=s.sign,
        qty=units,
        entry_paise=entry_paise,
        exit_paise=exit_paise,
        gross_paise=gross,
        entry_charges_paise=entry_charges,
        charges_paise=charges,
        net_paise=gross - charges,
        reason=plan.reason,
        charge_components=components,
    )


def _side_charges(b: Bars, s: Settings, side: str, bar, turnover, components) -> np.ndarray:
    """Return charges (paise) of one side of every trade, using each fill date's rates."""
    table = costs.default_table()
    change_days = np.array([(d - _EPOCH).days for d in table.change_dates], dtype=np.int64)
    day = (b.ts[bar] + IST_OFFSET_NS) // DAY_NS
    if day.min() < change_days[0]:
        first = _EPOCH + timedelta(days=int(day.min()))
        raise costs.ChargeTableError(
            f"no charge rates before {table.first_date} (trade on {first})"
        )
    regime = np.searchsorted(change_days, day, side="right") - 1
    out = np.zeros(len(bar), dtype=np.int64)
    for r in np.unique(regime):
        sel = regime == r
        rates = costs.rates_for(
            s.segment, s.product, side, table.change_dates[r], brokerage=s.brokerage, table=table
        )
        parts = costs.charges_paise(rates, turnover[sel])
        total = np.zeros(int(sel.sum()), dtype=np.int64)
        for name, value in parts.items():
            total += np.asarray(value, dtype=np.int64)
            components[name] += int(np.sum(value))
        out[sel] = total
    return out


def equity_curve(b: Bars, s: Settings, t: Trades) -> np.ndarray:
    """Return equity marked to market at every close (rupees, float).

    equity[t] = initial capital + net P&L of trades closed by bar t's close + for positions
    still open at that close: side × qty × (close − entry fill) − their entry charges.
    """
    n = len(b)
    su = (t.sign * t.qty).astype(np.float64)
    # one signed bincount per piecewise-constant series: positions held, and cash effects
    # (entry cost leaves at entry, comes back at exit together with the net P&L)
    bars_at = np.concatenate([t.entry_bar, t.exit_bar])
    q = np.cumsum(np.bincount(bars_at, weights=np.concatenate([su, -su]), minlength=n))
    cost_in = su * t.entry_paise / 100 + t.entry_charges_paise / 100
    cash = np.concatenate([-cost_in, cost_in + t.net_paise / 100])
    flow = np.cumsum(np.bincount(bars_at, weights=cash, minlength=n))
    return s.initial_capital + flow + q * b.close


def exposure_pct(n: int, entry_bar: np.ndarray, exit_key: np.ndarray) -> float:
    """Return the percent of bars during which at least one position was open at any moment."""
    if len(entry_bar) == 0:
        return 0.0
    last = (exit_key - 1) // 2  # an exit at an open leaves the previous bar as the last held
    order = np.argsort(entry_bar, kind="stable")
    first, last = entry_bar[order], last[order]
    # union of [first, last] intervals: skip the part already covered by earlier ones
    covered_to = np.maximum.accumulate(np.r_[-1, last[:-1]])
    counted = np.maximum(first, covered_to + 1)
    return float(np.maximum(last - counted + 1, 0).sum() / n * 100)

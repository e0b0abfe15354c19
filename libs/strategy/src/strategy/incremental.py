"""Bar-by-bar evaluation for live trading: feed each closed bar once, read the signal.

Per bar the work is O(1) for arithmetic, logic and the recursive indicators and O(window) for
window indicators (ring buffers, no pass over the history). Values are bit-identical to
`strategy.vectorized` on the same bars. State survives restarts through `snapshot()` /
`restore()`, or by replaying at least `rule.lookback` warm-up bars (plus the recursive
indicators' convergence, for EMA-based rules a few times their period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from strategy import ast as A
from strategy import cells as C
from strategy import recursive as R
from strategy.ast import Rule, to_text
from strategy.errors import BarOrderError, RuleStateError

IST = ZoneInfo("Asia/Kolkata")
SNAPSHOT_FORMAT = 1
_FIELDS = ("open", "high", "low", "close", "volume")


def bar_view(bar) -> tuple[datetime, C.BarView]:
    """Read a bar given as a mapping or an object with ts, open, high, low, close, volume."""
    get = bar.__getitem__ if isinstance(bar, Mapping) else bar.__getattribute__
    ts = get("ts")
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        raise ValueError(f"bar ts must be a timezone-aware datetime, got {ts!r}")
    ist = ts.astimezone(IST)
    seconds = ist.hour * 3600 + ist.minute * 60 + ist.second
    values = [float(get(f)) for f in _FIELDS]
    return ist, C.BarView(*values, seconds=seconds, day=ist.date().toordinal())


class Evaluator:
    """Incremental evaluator of one rule; `update(bar)` returns that bar's signal."""

    def __init__(self, rule: Rule, cells: dict[str, C.Cell] | None = None):
        """`cells`: a `RuleSet`'s cells, shared with the other rules of the set."""
        self.rule = rule
        self.bars = 0
        self.last_ts: datetime | None = None
        self._pool: dict[str, C.Cell] = {} if cells is None else cells
        self._cells: dict[str, C.Cell] = {}
        self._root = self._build(rule.expr)
        self._order = list(self._cells.values())  # built children first: a valid update order

    def _build(self, node: A.Expr) -> C.Cell:
        key = to_text(node)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._pool.get(key)
            if cell is None:
                inputs = tuple(self._build(c) for c in A.children(node))
                cell = _make_cell(node, key, inputs)
                self._pool[key] = cell
            else:  # another rule's: its inputs are shared too, and ours (children first)
                for c in A.children(node):
                    self._build(c)
            self._cells[key] = cell
        return cell

    def update(self, bar) -> bool:
        """Feed the next closed bar; return True when the rule fires on it.

        Raises BarOrderError, leaving the state untouched, for a bar that is not later than the
        last one (a redelivered or out-of-order bar would otherwise corrupt every window).
        """
        return self.update_view(*bar_view(bar))

    def update_view(self, ts: datetime, view: C.BarView) -> bool:
        """`update` for a bar already read by `bar_view` (one read serves every evaluator
        of an instrument's bar; the view is not modified)."""
        if self.last_ts is not None and ts <= self.last_ts:
            raise BarOrderError(
                f"bar at {ts.isoformat()} is not after the last bar at {self.last_ts.isoformat()}"
            )
        for cell in self._order:
            cell.step(view)
        self.bars += 1
        self.last_ts = ts
        return self._root.value is True

    def replay(self, bars: Iterable) -> list[bool]:
        """Feed bars in order (e.g. warm-up history) and return their signals."""
        return [self.update(b) for b in bars]

    def values(self) -> dict[str, float | bool | None]:
        """Return the current value of every sub-expression, keyed by canonical text."""
        return {k: c.value for k, c in self._cells.items() if not isinstance(c, C.Const)}

    def snapshot(self) -> dict:
        """Return the full state as JSON-ready data."""
        return {
            "format": SNAPSHOT_FORMAT,
            "rule": self._root.key,  # the rule's canonical text (every cell is keyed by its own)
            "bars": self.bars,
            "last_ts": None if self.last_ts is None else self.last_ts.isoformat(),
            "cells": {k: c.state() for k, c in self._cells.items() if not isinstance(c, C.Const)},
        }

    def restore(self, snapshot: dict) -> None:
        """Load a state taken by `snapshot()` from an evaluator of the same rule."""
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise RuleStateError(f"unsupported snapshot format {snapshot.get('format')!r}")
        if snapshot.get("rule") != self._root.key:
            raise RuleStateError(
                f"snapshot is for rule {snapshot.get('rule')!r}, not {self._root.key!r}"
            )
        for key, cell in self._cells.items():
            if not isinstance(cell, C.Const):
                cell.load(snapshot["cells"][key])
        self.bars = int(snapshot["bars"])
        last = snapshot.get("last_ts")
        self.last_ts = None if last is None else datetime.fromisoformat(last).astimezone(IST)


class RuleSet:
    """Rules read on the same bars, like a deployment's entry and exit: one cell per distinct
    sub-expression across them, stepped once per bar.

    `close crosses above sma(20)` to enter and `close crosses below sma(20)` to exit keep one
    window, not two. Each rule is still an `Evaluator` (`evaluators`) for its values and its
    snapshot; restore each from its own snapshot (a shared cell's state is in both).
    """

    def __init__(self, *rules: Rule):
        shared: dict[str, C.Cell] = {}
        self.evaluators = tuple(Evaluator(r, shared) for r in rules)
        self._order = list(shared.values())  # children first, as each rule built them
        self._steps = [c.step for c in self._order]
        self._roots = tuple(ev._root for ev in self.evaluators)

    def update(self, bar) -> tuple[bool, ...]:
        """Feed the next closed bar to every rule; return whether each fires on it."""
        return self.update_view(*bar_view(bar))

    def update_view(self, ts: datetime, view: C.BarView) -> tuple[bool, ...]:
        """`update` for a bar already read by `bar_view`."""
        evaluators = self.evaluators
        for ev in evaluators:
            if ev.last_ts is not None and ts <= ev.last_ts:
                raise BarOrderError(f"bar at {ts.isoformat()} is not after the last bar at"
                                    f" {ev.last_ts.isoformat()}")
        for step in self._steps:
            step(view)
        for ev in evaluators:
            ev.bars += 1
            ev.last_ts = ts
        roots = self._roots
        if len(roots) == 2:  # a deployment's entry and exit
            return roots[0].value is True, roots[1].value is True
        return tuple([root.value is True for root in roots])


def _make_cell(node: A.Expr, key: str, inputs: tuple[C.Cell, ...]) -> C.Cell:
    match node:
        case A.Num(value):
            return C.Const(key, float(value))
        case A.TimeLit(seconds):
            return C.Const(key, seconds)
        case A.Series(name):
            return C.Field(key, name)
        case A.TimeOfDay():
            return C.Field(key, "seconds")
        case A.Neg():
            return C.Neg(key, inputs)
        case A.Not():
            return C.Not(key, inputs)
        case A.Arith(op):
            return C.Arith(key, inputs, op)
        case A.Compare(op):
            return C.Compare(key, inputs, op)
        case A.Logic(op):
            return C.Logic(key, inputs, op)
        case A.Cross(direction):
            return C.Cross(key, inputs, direction)
        case A.Prev(_, n):
            return C.Prev(key, inputs, n)
        case A.Indicator(name, _, params):
            return _indicator_cell(name, params, key, inputs)
    raise TypeError(f"not a rule node: {node!r}")


def _indicator_cell(name: str, params: tuple[float, ...], key: str, inputs) -> C.Cell:
    if name == "ema":
        return R.Ema(key, inputs, int(params[0]))
    if name == "rsi":
        return R.Rsi(key, inputs, int(params[0]))
    if name.startswith("macd"):
        return R.Macd(key, inputs, name, params)
    if name == "atr":
        return R.Atr(key, int(params[0]))
    if name == "vwap":
        return R.Vwap(key)
    if name in ("sma", "bb_middle"):
        return C.SumWindow(key, inputs, name, params)
    return C.Window(key, inputs, name, params)

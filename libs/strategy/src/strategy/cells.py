"""Stateful cells of the incremental evaluator, one per distinct sub-expression.

Each cell repeats, bar by bar, exactly the IEEE operations `strategy.kernels` performs on whole
arrays (same formulas, same order), so values are bit-identical to the vectorized evaluator.
State is plain data (floats, lists, None) so an evaluator can be snapshotted as JSON.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from strategy.kernels import _blocks, window_total


@dataclass(slots=True)
class BarView:
    """The fields of one closed bar, as the cells read them."""

    open: float
    high: float
    low: float
    close: float
    volume: float
    seconds: int  # IST time of day of the bar's open, seconds since midnight
    day: int  # IST calendar date as an ordinal (VWAP sessions)


class Cell:
    """One node's running state; `step` reads its inputs' current values and sets `value`."""

    state_fields: tuple[str, ...] = ()

    def __init__(self, key: str, inputs: tuple[Cell, ...] = ()):
        self.key = key
        self.inputs = inputs
        self.value: float | bool | None = None

    def step(self, bar: BarView) -> None:
        raise TypeError(f"{type(self).__name__} must define step")

    def state(self) -> dict:
        out = {"value": self.value}
        for f in self.state_fields:
            v = getattr(self, f)
            out[f] = list(v) if isinstance(v, deque) else v
        return out

    def load(self, state: dict) -> None:
        self.value = state["value"]
        for f in self.state_fields:
            cur = getattr(self, f)
            v = state[f]
            setattr(self, f, deque(v, maxlen=cur.maxlen) if isinstance(cur, deque) else v)


class Const(Cell):
    def __init__(self, key: str, value):
        super().__init__(key)
        self.value = value

    def step(self, bar: BarView) -> None:
        pass


class Field(Cell):
    def __init__(self, key: str, name: str):
        super().__init__(key)
        self.name = name

    def step(self, bar: BarView) -> None:
        self.value = getattr(bar, self.name)


class Neg(Cell):
    def step(self, bar: BarView) -> None:
        a = self.inputs[0].value
        self.value = None if a is None else -a


class Not(Cell):
    def step(self, bar: BarView) -> None:
        a = self.inputs[0].value
        self.value = None if a is None else not a


class Arith(Cell):
    def __init__(self, key: str, inputs: tuple[Cell, ...], op: str):
        super().__init__(key, inputs)
        self.op = op

    def step(self, bar: BarView) -> None:
        a, b = self.inputs[0].value, self.inputs[1].value
        if a is None or b is None:
            self.value = None
        elif self.op == "+":
            self.value = a + b
        elif self.op == "-":
            self.value = a - b
        elif self.op == "*":
            self.value = a * b
        else:
            self.value = None if b == 0.0 else a / b


def _compare(op: str, a, b) -> bool | None:
    if a is None or b is None:
        return None
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    return a == b if op == "==" else a != b


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


class Compare(Arith):
    def step(self, bar: BarView) -> None:
        self.value = _compare(self.op, self.inputs[0].value, self.inputs[1].value)


class Logic(Arith):
    def step(self, bar: BarView) -> None:
        a, b = self.inputs[0].value, self.inputs[1].value
        self.value = kleene_and(a, b) if self.op == "and" else kleene_or(a, b)


class Cross(Arith):
    """a crosses above b: a[t] > b[t] and a[t-1] <= b[t-1] (below: < and >=)."""

    state_fields = ("prev_a", "prev_b")

    def __init__(self, key: str, inputs: tuple[Cell, ...], op: str):
        super().__init__(key, inputs, op)
        self.prev_a = self.prev_b = None
        self.above = op == "above"
        self.a, self.b = inputs

    def step(self, bar: BarView) -> None:
        # kleene_and(a > b, prev_a <= prev_b) (below: < and >=), spelled out: it runs for
        # every deployment on every bar
        a, b = self.a.value, self.b.value
        pa, pb = self.prev_a, self.prev_b
        self.prev_a, self.prev_b = a, b
        above = self.above
        now = None if a is None or b is None else (a > b if above else a < b)
        if now is False:
            self.value = False
            return
        before = None if pa is None or pb is None else (pa <= pb if above else pa >= pb)
        self.value = False if before is False else (None if now is None or before is None
                                                    else True)


class Prev(Cell):
    state_fields = ("buf",)

    def __init__(self, key: str, inputs: tuple[Cell, ...], n: int):
        super().__init__(key, inputs)
        self.buf: deque = deque(maxlen=n + 1)

    def step(self, bar: BarView) -> None:
        self.buf.append(self.inputs[0].value)
        self.value = self.buf[0] if len(self.buf) == self.buf.maxlen else None


class WindowSums:
    """The window sum of `kernels.window_sum`, kept bar by bar in O(log n).

    The canonical order adds power-of-two blocks, each summed pairwise. Level k holds the
    sums of 2**k consecutive values, newest last; a new value extends every level by one
    addition of two entries of the level below, and the window's total is its blocks read
    off their levels. The same additions on the same operands as the kernel, so the same
    bits, without re-adding the whole window every bar.
    """

    __slots__ = ("levels", "reads", "_pairs", "_full")

    def __init__(self, n: int, first: deque | None = None):
        """`first`: the deque (maxlen n) to keep the values themselves in, e.g. a window's
        own buffer; `push` appends to it."""
        blocks = _blocks(n)
        first = deque(maxlen=n) if first is None else first
        self.levels = [first] + [deque(maxlen=n) for _ in range(blocks[0].bit_length() - 1)]
        # (level below, level, offset of the left operand from the newest), level 1 up
        self._pairs = tuple((self.levels[k - 1], self.levels[k], 1 << (k - 1))
                            for k in range(1, len(self.levels)))
        self._full = False  # every level long enough to extend: no length checks
        # (level, position from the newest) of each block, oldest block first
        rest = [sum(blocks[i + 1:]) for i in range(len(blocks))]
        self.reads = tuple((self.levels[b.bit_length() - 1], -1 - r) for b, r in zip(blocks, rest))

    def push(self, x: float | None) -> None:
        self.levels[0].append(x)
        if self._full:
            for below, level, half in self._pairs:
                a = below[-1 - half]
                b = below[-1]
                level.append(None if a is None or b is None else a + b)
            return
        for below, level, half in self._pairs:
            if len(below) <= half:
                return
            a, b = below[-1 - half], below[-1]
            level.append(None if a is None or b is None else a + b)
        # a level once longer than its half stays so (lengths only grow, up to n > half)
        self._full = True

    def total(self) -> float | None:
        """Return the sum of the last n values (None if any is None; call once n are in)."""
        acc = None
        for level, pos in self.reads:  # oldest block first, added left to right
            v = level[pos]
            if v is None:
                return None
            acc = v if acc is None else acc + v
        return acc


class Window(Cell):
    """sma wma stdev bb_* highest lowest roc, and high(n)/low(n) over the bar's own high/low."""

    state_fields = ("buf",)

    def __init__(self, key: str, inputs: tuple[Cell, ...], name: str, params: tuple[float, ...]):
        super().__init__(key, inputs)
        self.name = name
        self.n = int(params[0])
        self.k = float(params[1]) if len(params) > 1 else 0.0
        extra = 1 if name in ("roc", "high", "low") else 0  # these also need the bar n back
        self.buf: deque = deque(maxlen=self.n + extra)

    def step(self, bar: BarView) -> None:
        if self.name == "high":
            self.buf.append(bar.high)
        elif self.name == "low":
            self.buf.append(bar.low)
        else:
            self.buf.append(self.inputs[0].value)
        if len(self.buf) < self.buf.maxlen:
            self.value = None
            return
        if self.name == "roc":  # reads only its two ends, like the vectorized kernel
            old, new = self.buf[0], self.buf[-1]
            ok = old is not None and new is not None and old != 0.0
            self.value = 100.0 * (new / old - 1.0) if ok else None
            return
        self.value = None if None in self.buf else self._compute(list(self.buf))

    def _compute(self, v: list[float]) -> float | None:
        name, n = self.name, self.n
        if name in ("sma", "bb_middle"):
            return window_total(v) / n
        if name in ("highest", "high"):
            return max(v) if name == "highest" else max(v[:-1])
        if name in ("lowest", "low"):
            return min(v) if name == "lowest" else min(v[:-1])
        if name == "wma":
            s = v[0] * 1.0
            for i in range(1, n):
                s = s + v[i] * float(i + 1)
            return s / (n * (n + 1) / 2)
        mean = window_total(v) / n
        d = v[0] - mean
        s = d * d
        for i in range(1, n):
            d = v[i] - mean
            s = s + d * d
        sd = math.sqrt(s / n)
        if name == "stdev":
            return sd
        return mean + self.k * sd if name == "bb_upper" else mean - self.k * sd


class SumWindow(Window):
    """sma and bb_middle: their sum over n kept bar by bar (`WindowSums`, whose first level is
    the buffer itself); stdev's deviations need the whole window anyway."""

    def __init__(self, key: str, inputs: tuple[Cell, ...], name: str, params: tuple[float, ...]):
        super().__init__(key, inputs, name, params)
        self.a = inputs[0]
        self.sums = WindowSums(self.n, self.buf)

    def load(self, state: dict) -> None:
        super().load(state)
        values = list(self.buf)  # the sums are a cache of the buffer: rebuilt from it
        self.buf = deque(maxlen=self.n)
        self.sums = WindowSums(self.n, self.buf)
        for x in values:
            self.sums.push(x)

    def step(self, bar: BarView) -> None:
        self.sums.push(self.a.value)  # appends to self.buf too
        if len(self.buf) < self.n:
            self.value = None
            return
        total = self.sums.total()
        self.value = None if total is None else total / self.n

"""Cells for the recursive indicators (EMA, RSI, MACD, ATR) and session VWAP."""

from __future__ import annotations

from strategy.cells import BarView, Cell
from strategy.kernels import window_total


class Ewm:
    """SMA-seeded exponential average: seed = mean of the first n inputs, then y += a*(x - y)."""

    def __init__(self, n: int, alpha: float):
        self.n, self.alpha = n, alpha
        self.warm: list[float] = []
        self.y: float | None = None

    def step(self, x: float | None) -> float | None:
        if x is None:  # a missing input leaves the state alone and gives no value
            return None
        if self.y is None:
            self.warm.append(x)
            if len(self.warm) < self.n:
                return None
            self.y, self.warm = window_total(self.warm) / self.n, []
            return self.y
        self.y = self.y + self.alpha * (x - self.y)
        return self.y

    def state(self) -> dict:
        return {"warm": list(self.warm), "y": self.y}

    def load(self, state: dict) -> None:
        self.warm, self.y = list(state["warm"]), state["y"]


class _EwmCell(Cell):
    """A cell whose state is a set of named Ewm objects plus plain fields."""

    ewm_names: tuple[str, ...] = ()

    def state(self) -> dict:
        out = super().state()
        for name in self.ewm_names:
            out[name] = getattr(self, name).state()
        return out

    def load(self, state: dict) -> None:
        super().load(state)
        for name in self.ewm_names:
            getattr(self, name).load(state[name])


class Ema(_EwmCell):
    ewm_names = ("ewm",)

    def __init__(self, key: str, inputs: tuple[Cell, ...], n: int):
        super().__init__(key, inputs)
        self.ewm = Ewm(n, 2.0 / (n + 1))

    def step(self, bar: BarView) -> None:
        self.value = self.ewm.step(self.inputs[0].value)


class Rsi(_EwmCell):
    ewm_names = ("gain", "loss")
    state_fields = ("last",)

    def __init__(self, key: str, inputs: tuple[Cell, ...], n: int):
        super().__init__(key, inputs)
        self.gain, self.loss = Ewm(n, 1.0 / n), Ewm(n, 1.0 / n)
        self.last: float | None = None

    def step(self, bar: BarView) -> None:
        x = self.inputs[0].value
        if x is None or self.last is None:
            self.last = x if x is not None else self.last
            self.value = None
            return
        d = x - self.last
        self.last = x
        ag = self.gain.step(max(d, 0.0))
        al = self.loss.step(max(-d, 0.0))
        if ag is None or al is None:
            self.value = None
        else:
            self.value = 100.0 if al == 0.0 else 100.0 * ag / (ag + al)


class Macd(_EwmCell):
    ewm_names = ("fast", "slow", "signal")

    def __init__(self, key: str, inputs: tuple[Cell, ...], part: str, params: tuple[float, ...]):
        super().__init__(key, inputs)
        f, s, g = (int(p) for p in params)
        self.part = part
        self.fast, self.slow, self.signal = (
            Ewm(f, 2.0 / (f + 1)),
            Ewm(s, 2.0 / (s + 1)),
            Ewm(g, 2.0 / (g + 1)),
        )

    def step(self, bar: BarView) -> None:
        x = self.inputs[0].value
        a, b = self.fast.step(x), self.slow.step(x)
        line = None if a is None or b is None else a - b
        sig = self.signal.step(line)
        if self.part == "macd":
            self.value = line
        elif self.part == "macd_signal":
            self.value = sig
        else:
            self.value = None if line is None or sig is None else line - sig


class Atr(_EwmCell):
    ewm_names = ("ewm",)
    state_fields = ("prev_close",)

    def __init__(self, key: str, n: int):
        super().__init__(key)
        self.ewm = Ewm(n, 1.0 / n)
        self.prev_close: float | None = None

    def step(self, bar: BarView) -> None:
        pc, h, lo = self.prev_close, bar.high, bar.low
        tr = None if pc is None else max(max(h - lo, abs(h - pc)), abs(lo - pc))
        self.prev_close = bar.close
        self.value = self.ewm.step(tr)


class Vwap(Cell):
    """Cumulative typical-price VWAP per IST session day; no value while volume is 0."""

    state_fields = ("day", "cpv", "cv")

    def __init__(self, key: str):
        super().__init__(key)
        self.day: int | None = None
        self.cpv = self.cv = 0.0

    def step(self, bar: BarView) -> None:
        tp = ((bar.high + bar.low) + bar.close) / 3.0
        pv = tp * bar.volume
        if bar.day != self.day:
            self.day, self.cpv, self.cv = bar.day, pv, bar.volume
        else:
            self.cpv, self.cv = self.cpv + pv, self.cv + bar.volume
        self.value = self.cpv / self.cv if self.cv != 0.0 else None

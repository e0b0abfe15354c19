"""The names of the language: series, indicators with their signatures, defaults and warm-up."""

from __future__ import annotations

from dataclasses import dataclass

SERIES = ("open", "high", "low", "close", "volume")
ALIASES = {"price": "close"}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    integer: bool = True  # periods are positive integer literals; bb's k may be fractional
    default: float | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    takes_source: bool
    params: tuple[Param, ...]
    usage: str

    @property
    def required(self) -> int:
        return sum(1 for p in self.params if p.default is None)

    @property
    def bare_ok(self) -> bool:
        """Whether the name alone (`vwap`, `rsi`) is a complete call."""
        return self.required == 0


_N = Param("period")
_MACD = (Param("fast", default=12), Param("slow", default=26), Param("signal", default=9))
_BB = (Param("period", default=20), Param("k", integer=False, default=2.0))

SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("sma", True, (_N,), "sma(close, 20)"),
        Spec("ema", True, (_N,), "ema(close, 20)"),
        Spec("wma", True, (_N,), "wma(close, 20)"),
        Spec("rsi", True, (Param("period", default=14),), "rsi(close, 14)"),
        Spec("macd", True, _MACD, "macd(close, 12, 26, 9)"),
        Spec("macd_signal", True, _MACD, "macd_signal(close, 12, 26, 9)"),
        Spec("macd_hist", True, _MACD, "macd_hist(close, 12, 26, 9)"),
        Spec("bb_upper", True, _BB, "bb_upper(close, 20, 2)"),
        Spec("bb_middle", True, _BB, "bb_middle(close, 20, 2)"),
        Spec("bb_lower", True, _BB, "bb_lower(close, 20, 2)"),
        Spec("atr", False, (Param("period", default=14),), "atr(14)"),
        Spec("vwap", False, (), "vwap"),
        Spec("stdev", True, (_N,), "stdev(close, 20)"),
        Spec("roc", True, (_N,), "roc(close, 10)"),
        Spec("highest", True, (_N,), "highest(high, 20)"),
        Spec("lowest", True, (_N,), "lowest(low, 20)"),
        # high(n) / low(n): extreme of the n bars BEFORE the current one (breakout levels)
        Spec("high", False, (_N,), "high(20)"),
        Spec("low", False, (_N,), "low(20)"),
    )
}

INDICATORS = tuple(n for n in SPECS if n not in ("high", "low"))
KEYWORDS = ("and", "or", "not", "crosses", "above", "below", "time", "prev")
ALL_NAMES = (*SERIES, *ALIASES, *INDICATORS, *KEYWORDS)


def own_lookback(name: str, params: tuple[float, ...]) -> int:
    """Return the bars an indicator needs before its first value, given a gap-free source."""
    if name == "vwap":
        return 0
    n = int(params[0])
    if name in ("rsi", "atr", "roc", "high", "low"):
        return n
    if name == "macd":
        return int(params[1]) - 1
    if name in ("macd_signal", "macd_hist"):
        return int(params[1]) - 1 + int(params[2]) - 1
    return n - 1

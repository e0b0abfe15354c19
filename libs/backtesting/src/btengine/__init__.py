"""Pure backtest engine, Indian cost model and metrics (ARCHITECTURE.md §8)."""

from btengine.costs import Breakdown, Brokerage, charges
from btengine.engine import run
from btengine.result import Result, Trades
from btengine.settings import Settings

__all__ = ["Breakdown", "Brokerage", "Result", "Settings", "Trades", "charges", "run"]

"""Backtest output: the trade list (exact paise), the equity curve and the metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from btengine import analytics
from btengine.bars import Bars
from btengine.selection import REASONS
from btengine.settings import Settings


@dataclass
class Trades:
    """Columnar trade list; money is integer paise, times are epoch-ns UTC, qty in units."""

    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry_time: np.ndarray
    exit_time: np.ndarray
    sign: int
    qty: np.ndarray
    entry_paise: np.ndarray
    exit_paise: np.ndarray
    gross_paise: np.ndarray
    entry_charges_paise: np.ndarray
    charges_paise: np.ndarray
    net_paise: np.ndarray
    reason: np.ndarray
    charge_components: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entry_bar)


def _rupees(paise: int) -> Decimal:
    return (Decimal(int(paise)) / 100).quantize(Decimal("0.01"))


@dataclass
class Result:
    """Everything a backtest produced; analytics are computed on demand."""

    settings: Settings
    bars: Bars
    trades: Trades
    equity: np.ndarray
    metrics: dict[str, Any]

    def trades_frame(self) -> pl.DataFrame:
        """Return the trade list as a polars DataFrame (times in IST, money in integer paise)."""
        t = self.trades
        times = {
            k: pl.Series(k, getattr(t, k), dtype=pl.Int64)
            .cast(pl.Datetime("ns", "UTC"))
            .dt.convert_time_zone("Asia/Kolkata")
            for k in ("entry_time", "exit_time")
        }
        return pl.DataFrame(
            {
                **times,
                "entry_bar": t.entry_bar,
                "exit_bar": t.exit_bar,
                "side": ["long" if t.sign > 0 else "short"] * len(t),
                "qty": t.qty,
                "entry_price_paise": t.entry_paise,
                "exit_price_paise": t.exit_paise,
                "pnl_gross_paise": t.gross_paise,
                "charges_paise": t.charges_paise,
                "pnl_net_paise": t.net_paise,
                "exit_reason": pl.Series(np.asarray(REASONS)[t.reason], dtype=pl.Utf8),
                "holding_seconds": (t.exit_time - t.entry_time) / 1e9,
            }
        )

    def trade_records(self) -> list[dict[str, Any]]:
        """Return the trade list as dicts with exact Decimal rupee amounts."""
        rows = []
        for r in self.trades_frame().iter_rows(named=True):
            rows.append(
                {
                    "entry_time": r["entry_time"],
                    "exit_time": r["exit_time"],
                    "side": r["side"],
                    "qty": r["qty"],
                    "entry_price": _rupees(r["entry_price_paise"]),
                    "exit_price": _rupees(r["exit_price_paise"]),
                    "pnl_gross": _rupees(r["pnl_gross_paise"]),
                    "charges": _rupees(r["charges_paise"]),
                    "pnl_net": _rupees(r["pnl_net_paise"]),
                    "exit_reason": r["exit_reason"],
                }
            )
        return rows

    def equity_frame(self) -> pl.DataFrame:
        """Return ts (IST), equity and drawdown (amount and %) per bar."""
        dd, dd_pct = analytics.drawdown(self.equity, self.settings.initial_capital)
        ts = pl.Series("ts", self.bars.ts).cast(pl.Datetime("ns", "UTC"))
        return pl.DataFrame(
            {
                "ts": ts.dt.convert_time_zone("Asia/Kolkata"),
                "equity": self.equity,
                "drawdown": dd,
                "drawdown_pct": dd_pct,
            }
        )

    def drawdown_periods(self, top: int | None = None) -> list[dict[str, Any]]:
        """Return drawdown periods (see ``analytics.drawdown_periods``)."""
        return analytics.drawdown_periods(
            self.bars.ts, self.equity, self.settings.initial_capital, top
        )

    def pnl_histogram(self, bins: int | None = None) -> dict[str, list]:
        """Return the net trade P&L histogram (see ``analytics.pnl_histogram``)."""
        return analytics.pnl_histogram(
            self.trades.net_paise / 100, bins or self.settings.histogram_bins
        )

    def returns_heatmap(self) -> dict[str, Any]:
        """Return the returns heat map (see ``analytics.returns_heatmap``)."""
        return analytics.returns_heatmap(self.bars, self.equity, self.settings.initial_capital)

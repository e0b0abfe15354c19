"""Real NSE bars (data/ohlc): the equity curve ends where the trade list says."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from btengine import Settings, run

DATA = Path(__file__).resolve().parents[3] / "data" / "ohlc"


def _sma_cross(close: np.ndarray, fast: int, slow: int):
    f = pl.Series(close).rolling_mean(fast).to_numpy()
    s = pl.Series(close).rolling_mean(slow).to_numpy()
    above = f > s
    valid = ~np.isnan(s) & ~np.isnan(np.r_[np.nan, s[:-1]])
    prev = np.r_[False, above[:-1]]
    return above & ~prev & valid, ~above & prev & valid


def _load(name: str) -> pl.DataFrame:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return pl.read_parquet(path)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(quantity=10),
        Settings(quantity=10, stop_loss_pct=5, target_pct=10, slippage_bps=5),
        Settings(quantity=10, direction="short", stop_loss_pct=5),
    ],
)
def test_reliance_daily_equity_ends_at_initial_plus_trade_pnl(settings):
    df = _load("NSE_EQ-RELIANCE-1d.parquet")
    entries, exits = _sma_cross(df["close"].to_numpy(), 10, 30)
    r = run(df, entries, exits, settings)
    records = r.trade_records()
    assert len(records) > 20
    net = sum((t["pnl_net"] for t in records), Decimal(0))
    assert net == r.metrics["net_profit"]
    assert all(t["pnl_net"] == t["pnl_gross"] - t["charges"] for t in records)
    assert all(t["charges"] > 0 for t in records)  # delivery STT alone is 0.1 % a side
    assert r.equity[-1] == pytest.approx(settings.initial_capital + float(net), abs=1e-6)
    assert records[0]["entry_time"].year == 2020


def test_reliance_minute_intraday_squares_off_every_day():
    df = _load("NSE_EQ-RELIANCE-1m.parquet")
    entries, exits = _sma_cross(df["close"].to_numpy(), 10, 30)
    s = Settings(quantity=50, product="intraday", stop_loss_pct=0.5, target_pct=1)
    r = run(df, entries, exits, s)
    trades = r.trades_frame()
    assert trades["exit_time"].dt.strftime("%H:%M").max() <= "15:15"
    assert trades.filter(pl.col("exit_reason") == "square_off")["exit_time"].dt.strftime(
        "%H:%M"
    ).unique().to_list() == ["15:15"]
    assert set(trades["exit_reason"].unique()) >= {"signal", "stop", "target", "square_off"}
    net = int(trades["pnl_net_paise"].sum())
    assert r.equity[-1] == pytest.approx(s.initial_capital + net / 100, abs=1e-6)
    days_with_open_position = trades["exit_time"].dt.date() != trades["entry_time"].dt.date()
    assert not days_with_open_position.any()

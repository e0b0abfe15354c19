"""Metrics and analytics on a hand-computed example."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from btengine import Settings, run
from btengine.analytics import drawdown_periods, pnl_histogram
from btengine.metrics import cagr_pct, max_drawdown


@pytest.fixture
def example(make_bars, sig):
    # one long of 10 shares: entry 101 at bar 1, marks 103 and 102, exit 106 at bar 3's open
    bars = make_bars(
        [(100, 101, 99, 100), (101, 102, 100, 103), (104, 105, 103, 102), (106, 107, 105, 106)]
    )
    return run(bars, sig(4, 0), sig(4, 2), Settings(costs=False, quantity=10, initial_capital=1000))


def test_equity_metrics_by_hand(example):
    m = example.metrics
    assert m["final_equity"] == pytest.approx(1050)
    assert m["total_return_pct"] == pytest.approx(5.0)
    assert m["max_drawdown"] == pytest.approx(10.0)  # 1020 -> 1010
    assert m["max_drawdown_pct"] == pytest.approx(10 / 1020 * 100)
    r = [0.0, 20 / 1000, -10 / 1020, 40 / 1010]
    periods = 250 * 375  # 1-minute bars on NSE's 375-minute, 250-day year
    sharpe = statistics.mean(r) / statistics.stdev(r) * math.sqrt(periods)
    downside = math.sqrt((10 / 1020) ** 2 / 4)
    assert m["periods_per_year"] == periods
    assert m["sharpe"] == pytest.approx(sharpe)
    assert m["sortino"] == pytest.approx(statistics.mean(r) / downside * math.sqrt(periods))


def test_trade_metrics_by_hand(example):
    m = example.metrics
    assert (m["total_trades"], m["winning_trades"], m["losing_trades"]) == (1, 1, 0)
    assert m["win_rate_pct"] == 100.0
    assert m["profit_factor"] is None  # no losing trade
    assert m["avg_trade_pnl"] == pytest.approx(50.0)
    assert str(m["net_profit"]) == "50"
    assert m["avg_holding_seconds"] == 120.0  # 09:16 open to 09:18 open
    assert m["exposure_pct"] == 50.0  # held during bars 1 and 2 of 4


def test_win_rate_and_profit_factor_with_losers(make_bars, sig):
    bars = make_bars(
        [
            (100, 100, 100, 100),
            (100, 100, 100, 100),
            (110, 110, 110, 110),
            (100, 100, 100, 100),
            (95, 95, 95, 95),
            (90, 90, 90, 90),
            (96, 96, 96, 96),
            (96, 96, 96, 96),
        ]
    )
    r = run(bars, sig(8, 0, 2, 4), sig(8, 1, 3, 5), Settings(costs=False))
    assert [x["pnl_net"] for x in r.trade_records()] == [10, -5, 6]
    assert r.metrics["win_rate_pct"] == pytest.approx(200 / 3)
    assert r.metrics["profit_factor"] == pytest.approx(16 / 5)


def test_cagr_and_drawdown_helpers():
    assert cagr_pct(1210, 1000, 2) == pytest.approx(10.0)
    assert cagr_pct(0, 1000, 2) == -100.0
    assert max_drawdown(np.array([900.0, 1100, 880, 1200]), 1000) == pytest.approx((220, 20))


def test_drawdown_periods(example):
    (p,) = example.drawdown_periods()
    ts = example.bars.ts
    assert (p["start"], p["trough"], p["recovery"]) == (ts[2], ts[2], ts[3])
    assert p["depth"] == pytest.approx(10) and p["duration_bars"] == 1
    unrecovered = drawdown_periods(ts, np.array([1000.0, 990, 995, 980]), 1000)
    assert unrecovered[0]["recovery"] is None and unrecovered[0]["duration_bars"] == 3


def test_equity_frame_has_the_drawdown_curve(example):
    f = example.equity_frame()
    assert f["drawdown"].to_list() == pytest.approx([0, 0, -10, 0])
    assert str(f["ts"].dtype) == "Datetime(time_unit='ns', time_zone='Asia/Kolkata')"


def test_pnl_histogram():
    h = pnl_histogram(np.array([-5.0, 10, 20]), bins=3)
    assert h["counts"] == [1, 1, 1]
    assert h["edges"] == pytest.approx([-5, 10 / 3, 35 / 3, 20])


def test_intraday_heatmap_is_weekday_by_hour(example):
    h = example.returns_heatmap()
    assert h["kind"] == "weekday_by_hour" and h["cols"] == [9]
    assert h["values"][0][0] == pytest.approx(5.0)  # 2025-01-06 was a Monday
    assert h["values"][1][0] is None


def test_daily_heatmap_is_month_by_year(make_bars, sig):
    bars = make_bars(
        [(100, 100, 100, 100)] * 3 + [(110, 110, 110, 110)],
        times=["2024-12-30 00:00", "2024-12-31 00:00", "2025-01-01 00:00", "2025-01-02 00:00"],
    )
    r = run(bars, sig(4, 0), sig(4), Settings(costs=False, initial_capital=1000))
    h = r.returns_heatmap()
    assert h["kind"] == "month_by_year" and h["rows"] == [2024, 2025]
    assert h["values"][0][11] == pytest.approx(0.0)
    assert h["values"][1][0] == pytest.approx(1.0)  # 1000 -> 1010
    assert h["values"][0][0] is None


@pytest.mark.parametrize(
    ("step_minutes", "periods"),
    [(1, 93_750), (5, 18_750), (15, 6_250), (1440, 250), (7 * 1440, 365.25 / 7)],
)
def test_annualisation_follows_the_bar_interval(make_bars, step_minutes, periods):
    from btengine.bars import as_bars

    b = as_bars(
        make_bars([(100, 100, 100, 100)] * 5, start="2025-01-06 00:00", step_minutes=step_minutes)
    )
    assert b.periods_per_year == pytest.approx(periods)

"""Pure rules without servers: version merging, status transitions, windows, curve thinning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import polars as pl
from backtest import compute, domain
from backtest.history import normalise
from contracts.backtest import UpdateStrategy

CURRENT = {"name": "a", "description": "", "segment": "NSE_EQ", "security_id": "1", "symbol": "X",
           "timeframe": "1d", "entry_rule": "close > sma(20)", "exit_rule": "close < sma(20)",
           "stop_loss_pct": Decimal(2), "target_pct": Decimal(4), "position_size": 1,
           "max_positions": 1, "product_type": "delivery", "direction": "long"}


def test_update_replaces_only_sent_fields_and_null_clears_levels():
    body = UpdateStrategy.model_validate({"id": "s", "name": "b", "targetPct": None})
    merged = domain.merge_update(CURRENT, body)
    assert merged["name"] == "b" and merged["target_pct"] is None
    assert merged["stop_loss_pct"] == Decimal(2) and domain.changed(CURRENT, merged)
    same = domain.merge_update(CURRENT, UpdateStrategy.model_validate({"id": "s", "name": "a"}))
    assert not domain.changed(CURRENT, same)


def test_statuses_follow_backtests_and_deployments():
    assert domain.after_backtest("draft") == "backtested"
    assert domain.after_backtest("live") == "live"
    assert domain.after_deployment("backtested", 1, True) == "live"
    assert domain.after_deployment("live", 0, True) == "backtested"
    assert domain.after_deployment("live", 0, False) == "draft"
    assert domain.after_deployment("archived", 1, True) == "archived"


def test_rule_errors_carry_positions():
    errors = domain.rule_errors("close > smaa(20)", "close < sma(20)")
    assert [e.field for e in errors] == ["entryRule"]
    assert errors[0].message.startswith("line 1, col 9:")
    assert domain.check_rule("rsi(14) < 30").lookback >= 14


def test_window_covers_whole_ist_days():
    start, end = compute.window(date(2024, 1, 1), date(2024, 1, 31))
    assert start.isoformat() == "2023-12-31T18:30:00+00:00"
    assert end.isoformat() == "2024-01-31T18:30:00+00:00"


def test_thin_curve_keeps_bounds_and_the_deepest_point():
    n = 10_000
    ts = np.datetime64("2024-01-01T03:45").astype("datetime64[ns]").astype(np.int64) \
        + np.arange(n) * 60 * 10**9
    equity = np.full(n, 100.0)
    equity[4321] = 50.0
    curve = compute.thin_curve(ts, equity, 100.0, 500)
    assert len(curve) <= 500 and curve[0]["ts"] == "2024-01-01T09:15:00+05:30"
    assert curve[-1]["ts"] == compute._iso(int(ts[-1]))
    assert min(p["drawdown"] for p in curve) == -50.0 and min(p["drawdownPct"] for p in curve) == -50.0
    assert len(compute.thin_curve(ts[:100], equity[:100], 100.0, 500)) == 100


def test_normalise_sorts_dedupes_and_trims():
    ts = pl.Series([3000, 1000, 2000, 2000, 9000]).cast(pl.Datetime("ns", "UTC"))
    df = pl.DataFrame({"ts": ts, **{c: [1.0, 2.0, 3.0, 4.0, 5.0] for c in ("open", "high", "low", "close")},
                       "volume": [1, 2, 3, 4, 5]})
    out = normalise(df, datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, 0, 0, 0, 5, tzinfo=UTC))
    assert out.get_column("ts").dt.epoch("ns").to_list() == [1000, 2000, 3000]
    assert out.get_column("close").to_list() == [2.0, 4.0, 1.0]


def test_metrics_are_json_safe():
    out = compute.json_metrics({"net_profit": Decimal("1.50"), "cagr_pct": float("inf"),
                                "total_trades": 3})
    assert out == {"netProfit": "1.50", "cagrPct": None, "totalTrades": 3}

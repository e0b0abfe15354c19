"""Costs inside the engine: F&O lots, and rates that change in the middle of a backtest."""

from __future__ import annotations

from datetime import date

from btengine import Settings, charges, run


def test_futures_lots_use_futures_rates_of_each_fill_date(make_bars, sig):
    # a NIFTY-like future held over 2024-10-01, when futures STT went from 0.0125 % to 0.02 %
    bars = make_bars(
        [
            (24000, 24100, 23900, 24000),
            (24000, 24100, 23900, 24050),
            (24100, 24200, 24000, 24150),
            (24150, 24200, 24100, 24150),
        ],
        times=["2024-09-27 00:00", "2024-09-30 00:00", "2024-10-01 00:00", "2024-10-03 00:00"],
    )
    s = Settings(segment="NSE_FNO", product="futures", quantity=2, lot_size=25)
    rec = run(bars, sig(4, 0), sig(4, 1), s).trade_records()[0]
    buy = charges("NSE_FNO", "futures", "buy", 24000, 50, date(2024, 9, 30))
    sell = charges("NSE_FNO", "futures", "sell", 24100, 50, date(2024, 10, 1))
    assert rec["qty"] == 50
    assert sell.stt == 241  # 0.02 % of 12,05,000 on the new rate's first day
    assert rec["charges"] == buy.total + sell.total
    assert str(rec["pnl_gross"]) == "5000.00"


def test_short_delivery_pays_stt_on_both_sides_and_stamp_on_the_buy_back(make_bars, sig):
    bars = make_bars(
        [
            (1000, 1001, 999, 1000),
            (1000, 1001, 999, 1000),
            (990, 991, 989, 990),
            (990, 991, 989, 990),
        ],
        start="2025-02-03 10:00",
    )
    s = Settings(direction="short", quantity=100)
    rec = run(bars, sig(4, 0), sig(4, 1), s).trade_records()[0]
    d = date(2025, 2, 3)
    sell = charges("NSE_EQ", "delivery", "sell", 1000, 100, d)
    buy = charges("NSE_EQ", "delivery", "buy", 990, 100, d)
    assert (sell.stamp, buy.stamp > 0) == (0, True)
    assert rec["charges"] == sell.total + buy.total
    assert rec["pnl_gross"] == 1000


def test_lot_size_in_force_at_entry_comes_from_the_bars(make_bars, sig):
    # NIFTY lots went from 25 to 75 on 2024-11-20
    bars = make_bars(
        [
            (24000, 24000, 24000, 24000),
            (24000, 24000, 24000, 24000),
            (24010, 24010, 24010, 24010),
            (24020, 24020, 24020, 24020),
            (24030, 24030, 24030, 24030),
        ],
        times=[
            "2024-11-18 00:00",
            "2024-11-19 00:00",
            "2024-11-20 00:00",
            "2024-11-21 00:00",
            "2024-11-22 00:00",
        ],
    )
    bars["lot_size"] = [25, 25, 75, 75, 75]
    s = Settings(segment="NSE_FNO", product="futures", quantity=2, costs=False, initial_capital=1e6)
    r = run(bars, sig(5, 0, 2), sig(5, 1, 3), s)
    recs = r.trade_records()
    assert [x["qty"] for x in recs] == [50, 150]
    assert [str(x["pnl_gross"]) for x in recs] == ["500.00", "1500.00"]
    assert r.equity[-1] == 1e6 + 2000

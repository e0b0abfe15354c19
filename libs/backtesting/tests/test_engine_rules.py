"""Every rule of ARCHITECTURE.md §8 on tiny handmade bar sets (costs off unless stated)."""

from __future__ import annotations

from datetime import time

import numpy as np
import pytest
from btengine import Settings, run

FLAT = [(100, 101, 99, 100)]


def _one(result):
    assert len(result.trades) == 1, result.trades_frame()
    return result.trade_records()[0], result.trades


def test_signal_fills_at_next_bar_open(make_bars, sig):
    bars = make_bars(
        [
            (100, 101, 99, 100),
            (101, 102, 100, 101),
            (102, 103, 101, 102),
            (103, 104, 102, 103),
            (104, 105, 103, 104),
        ]
    )
    r = run(bars, sig(5, 0), sig(5, 2), Settings(costs=False, quantity=10))
    rec, t = _one(r)
    assert (t.entry_bar[0], t.exit_bar[0]) == (1, 3)
    assert (str(rec["entry_price"]), str(rec["exit_price"])) == ("101.00", "103.00")
    assert str(rec["pnl_gross"]) == "20.00" and rec["exit_reason"] == "signal"


def test_entry_on_last_bar_never_fills_and_open_trade_ends_at_last_close(make_bars, sig):
    bars = make_bars([(100, 101, 99, 100), (101, 102, 100, 101.5), (102, 103, 101, 102)])
    r = run(bars, sig(3, 0, 2), sig(3), Settings(costs=False))
    rec, t = _one(r)
    assert rec["exit_reason"] == "end" and str(rec["exit_price"]) == "102.00"
    assert t.exit_bar[0] == 2


def test_exit_signal_on_the_entry_signal_bar_cancels_the_entry(make_bars, sig):
    bars = make_bars(FLAT * 4)
    assert len(run(bars, sig(4, 1), sig(4, 1), Settings(costs=False)).trades) == 0


def _stop_bars(make_bars, *rest):
    return make_bars([(100, 100, 100, 100), *rest, (100, 100.5, 99.5, 100)])


def test_stop_first_when_stop_and_target_hit_in_one_bar(make_bars, sig):
    bars = _stop_bars(make_bars, (100, 105, 97, 100))
    s = Settings(costs=False, stop_loss_pct=2, target_pct=4)
    rec, t = _one(run(bars, sig(3, 0), sig(3), s))
    assert rec["exit_reason"] == "stop" and str(rec["exit_price"]) == "98.00"
    assert t.exit_bar[0] == 1  # live on the entry bar itself


def test_target_inside_bar_fills_at_target(make_bars, sig):
    bars = _stop_bars(make_bars, (100, 100.2, 99.5, 100), (100.5, 104.5, 99, 104))
    s = Settings(costs=False, stop_loss_pct=2, target_pct=4)
    rec, _ = _one(run(bars, sig(4, 0), sig(4), s))
    assert rec["exit_reason"] == "target" and str(rec["exit_price"]) == "104.00"


@pytest.mark.parametrize(
    ("gap_bar", "reason", "price"),
    [((95, 96, 94, 95.5), "stop", "95.00"), ((106, 107, 96, 106.5), "target", "106.00")],
)
def test_gap_through_a_level_fills_at_the_open(make_bars, sig, gap_bar, reason, price):
    bars = _stop_bars(make_bars, (100, 100.5, 99.5, 100), gap_bar)
    s = Settings(costs=False, stop_loss_pct=2, target_pct=4)
    rec, t = _one(run(bars, sig(4, 0), sig(4), s))
    assert (rec["exit_reason"], str(rec["exit_price"]), t.exit_bar[0]) == (reason, price, 2)


def test_signal_exit_at_the_open_beats_a_stop_later_in_that_bar(make_bars, sig):
    bars = _stop_bars(make_bars, (100, 100.5, 99.5, 100), (99.5, 99.8, 90, 91))
    s = Settings(costs=False, stop_loss_pct=2)
    rec, t = _one(run(bars, sig(4, 0), sig(4, 1), s))
    assert (rec["exit_reason"], str(rec["exit_price"]), t.exit_bar[0]) == ("signal", "99.50", 2)


def test_deferred_stops_ignore_the_entry_bar(make_bars, sig):
    bars = _stop_bars(make_bars, (100, 105, 97, 100), (100, 100.5, 97.5, 99))
    s = Settings(costs=False, stop_loss_pct=2, target_pct=4, stops_from_next_bar=True)
    rec, t = _one(run(bars, sig(4, 0), sig(4), s))
    assert (rec["exit_reason"], str(rec["exit_price"]), t.exit_bar[0]) == ("stop", "98.00", 2)


def test_short_side_stop_above_target_below_and_pnl_sign(make_bars, sig):
    s = Settings(costs=False, direction="short", stop_loss_pct=2, target_pct=4, quantity=5)
    stopped = _stop_bars(make_bars, (100, 103, 99, 102))
    rec, _ = _one(run(stopped, sig(3, 0), sig(3), s))
    assert (rec["exit_reason"], str(rec["exit_price"]), str(rec["pnl_gross"])) == (
        "stop",
        "102.00",
        "-10.00",
    )
    won = _stop_bars(make_bars, (100, 100.5, 95, 96))
    rec, _ = _one(run(won, sig(3, 0), sig(3), s))
    assert (rec["exit_reason"], str(rec["exit_price"]), str(rec["pnl_gross"])) == (
        "target",
        "96.00",
        "20.00",
    )
    assert rec["side"] == "short"


def test_intraday_squares_off_at_the_open_of_the_first_bar_at_or_after_1515(make_bars, sig):
    bars = make_bars(
        [(100, 101, 99, 100), (101, 102, 100, 101), (102, 103, 101, 102), (103, 104, 102, 103)],
        start="2025-01-06 15:13",
    )
    r = run(bars, sig(4, 0, 1), sig(4), Settings(costs=False, product="intraday"))
    rec, t = _one(r)  # the 15:14 signal would fill at 15:15: dropped
    assert (t.entry_bar[0], t.exit_bar[0]) == (1, 2)
    assert (rec["exit_reason"], str(rec["exit_price"])) == ("square_off", "102.00")
    assert rec["exit_time"].strftime("%H:%M") == "15:15"


def test_square_off_time_is_configurable(make_bars, sig):
    bars = make_bars([(100, 101, 99, 100)] * 8, start="2025-01-06 15:13")
    s = Settings(costs=False, product="intraday", square_off_time=time(15, 18))
    _, t = _one(run(bars, sig(8, 0), sig(8), s))
    assert t.exit_bar[0] == 5


def test_day_without_a_bar_after_square_off_time_closes_at_its_last_close(make_bars, sig):
    bars = make_bars(
        [(100, 101, 99, 100), (101, 102, 100, 101), (102, 103, 101, 102.5), (90, 91, 89, 90)],
        times=["2025-01-06 14:00", "2025-01-06 14:01", "2025-01-06 14:02", "2025-01-07 09:15"],
    )
    rec, t = _one(run(bars, sig(4, 0), sig(4), Settings(costs=False, product="intraday")))
    assert (rec["exit_reason"], str(rec["exit_price"]), t.exit_bar[0]) == (
        "square_off",
        "102.50",
        2,
    )
    assert rec["exit_time"].strftime("%H:%M") == "14:03"


def test_intraday_on_daily_bars_trades_open_to_close(make_bars, sig):
    bars = make_bars(
        [(100, 101, 99, 100), (101, 106, 100, 105), (104, 105, 100, 101)],
        start="2025-01-06 00:00",
        step_minutes=1440,
    )
    r = run(bars, sig(3, 0, 1), sig(3), Settings(costs=False, product="intraday"))
    recs = r.trade_records()
    assert [(x["entry_price"], x["exit_price"]) for x in recs] == [
        (pytest.approx(101), pytest.approx(105)),
        (pytest.approx(104), pytest.approx(101)),
    ]
    assert all(x["exit_reason"] == "square_off" for x in recs)


def test_delivery_holds_overnight(make_bars, sig):
    bars = make_bars(
        FLAT * 3 + [(105, 106, 104, 105)],
        times=["2025-01-06 15:28", "2025-01-06 15:29", "2025-01-07 09:15", "2025-01-07 09:16"],
    )
    rec, t = _one(run(bars, sig(4, 0), sig(4, 2), Settings(costs=False)))
    assert (t.entry_bar[0], t.exit_bar[0], rec["exit_reason"]) == (1, 3, "signal")


def test_max_positions_pyramids_on_repeated_signals_and_exit_closes_all(make_bars, sig):
    bars = make_bars([(100 + i, 101 + i, 99 + i, 100 + i) for i in range(8)])
    r = run(bars, sig(8, 0, 1, 2, 5), sig(8, 3), Settings(costs=False, max_positions=2))
    t = r.trades
    assert t.entry_bar.tolist() == [1, 2, 6]
    assert t.exit_bar.tolist() == [4, 4, 7]
    assert [x["exit_reason"] for x in r.trade_records()] == ["signal", "signal", "end"]


def test_each_pyramided_position_has_its_own_stop(make_bars, sig):
    bars = make_bars(
        [
            (100, 100, 100, 100),
            (100, 100.5, 99.5, 100),
            (102, 102.5, 101.5, 102),
            (101, 101, 99.8, 100),
            (100, 100, 97, 98),
        ]
    )
    s = Settings(costs=False, max_positions=3, stop_loss_pct=2)
    t = run(bars, sig(5, 0, 1), sig(5), s).trades
    assert t.entry_bar.tolist() == [1, 2]
    assert t.exit_bar.tolist() == [4, 3]  # 102 * 0.98 = 99.96 hit at bar 3, 98 at bar 4
    assert (t.exit_paise.tolist()) == [9800, 9996]


def test_slippage_bps_and_ticks_are_adverse_on_both_sides(make_bars, sig):
    bars = make_bars([(100, 101, 99, 100), (100, 101, 99, 100), (103, 104, 102, 103), FLAT[0]])
    bps = run(bars, sig(4, 0), sig(4, 1), Settings(costs=False, slippage_bps=10)).trade_records()[0]
    assert (str(bps["entry_price"]), str(bps["exit_price"])) == ("100.10", "102.90")
    ticks = run(
        bars, sig(4, 0), sig(4, 1), Settings(costs=False, slippage_ticks=2, tick_size=0.05)
    ).trade_records()[0]
    assert (str(ticks["entry_price"]), str(ticks["exit_price"])) == ("100.10", "102.90")
    short = run(
        bars, sig(4, 0), sig(4, 1), Settings(costs=False, direction="short", slippage_bps=10)
    ).trade_records()[0]
    assert (str(short["entry_price"]), str(short["exit_price"])) == ("99.90", "103.10")


def test_costs_off_means_zero_charges_and_on_means_the_cost_model(make_bars, sig):
    from datetime import date

    from btengine import charges

    bars = make_bars(
        [
            (2500, 2510, 2490, 2500),
            (2500, 2510, 2490, 2505),
            (2520, 2530, 2510, 2525),
            (2525, 2530, 2520, 2525),
        ],
        start="2025-01-15 10:00",
    )
    off = run(bars, sig(4, 0), sig(4, 1), Settings(costs=False, quantity=100))
    assert off.trades.charges_paise.tolist() == [0]
    on = run(bars, sig(4, 0), sig(4, 1), Settings(quantity=100, product="intraday"))
    d = date(2025, 1, 15)
    expected = (
        charges("NSE_EQ", "intraday", "buy", "2500", 100, d).total
        + charges("NSE_EQ", "intraday", "sell", "2520", 100, d).total
    )
    rec = on.trade_records()[0]
    assert rec["charges"] == expected
    assert rec["pnl_net"] == rec["pnl_gross"] - expected == on.metrics["net_profit"]


def test_equity_is_marked_to_market_on_closes(make_bars, sig):
    bars = make_bars(
        [(100, 101, 99, 100), (101, 102, 100, 103), (104, 105, 103, 102), (106, 107, 105, 106)]
    )
    r = run(bars, sig(4, 0), sig(4, 2), Settings(costs=False, quantity=10, initial_capital=1000))
    # entry 101 at bar 1; closes 103, 102; exit 106 at bar 3's open
    assert r.equity.tolist() == pytest.approx([1000, 1020, 1010, 1050])


def test_settings_validate_their_inputs():
    with pytest.raises(ValueError):
        Settings(segment="NSE_FNO", product="delivery")
    with pytest.raises(ValueError):
        Settings(stop_loss_pct=-1)
    with pytest.raises(ValueError):
        Settings(direction="sideways")


def test_signals_must_match_bars(make_bars):
    with pytest.raises(ValueError):
        run(make_bars(FLAT * 3), np.zeros(2, bool), np.zeros(3, bool))


@pytest.mark.parametrize(
    "settings", [Settings(), Settings(stop_loss_pct=1), Settings(max_positions=3)]
)
def test_no_signals_means_no_trades_and_flat_equity(make_bars, sig, settings):
    r = run(make_bars(FLAT * 5), sig(5), sig(5), settings)
    assert len(r.trades) == 0 and r.trades_frame().height == 0
    assert r.equity.tolist() == [settings.initial_capital] * 5
    assert r.metrics["total_trades"] == 0 and r.metrics["sharpe"] == 0.0


def test_intraday_signal_on_a_day_s_last_bar_does_not_fill_next_morning(make_bars, sig):
    bars = make_bars(
        [(100, 101, 99, 100), (101, 102, 100, 101), (102, 103, 101, 102), (103, 104, 102, 103)],
        times=["2025-01-06 14:29", "2025-01-06 14:30", "2025-01-07 09:15", "2025-01-07 09:16"],
    )
    intraday = run(bars, sig(4, 1), sig(4), Settings(costs=False, product="intraday"))
    assert len(intraday.trades) == 0
    delivery = run(bars, sig(4, 1), sig(4), Settings(costs=False))
    assert delivery.trades.entry_bar.tolist() == [2]

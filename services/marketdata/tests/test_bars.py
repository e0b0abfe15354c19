"""Bars from ticks: real-day replay equals the source bars; closing, roll-ups, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from contracts.events.marketdata import Bar, BarCorrected, Tick
from dhansim.instruments import InstrumentMaster
from dhansim.prices import PriceLibrary
from marketdata.bars import BarAggregator
from marketdata.calendar import IST, Calendar

DATA = Path(__file__).resolve().parents[3] / "data" / "ohlc"
CAL = Calendar.load()
DAY = date(2025, 7, 23)


def _bounds(segment, day):
    return CAL.session_bounds(segment, day)


def _tick(sid: str, at: datetime, ltp: int, volume: int | None, n: int = 0, ltq: int = 0) -> Tick:
    return Tick(event_id=f"x{n}", ts_event=at, ts_init=at, segment="NSE_EQ", security_id=sid,
                ltp=ltp, ltt=at, volume=volume, ltq=ltq)


def _replay_real_day(symbol: str, sid: str, day: date) -> list:
    """Replay the simulator's real-data ticks of a day through the aggregator."""
    lib = PriceLibrary(InstrumentMaster.load(), DATA)
    path = lib.path("NSE_EQ", sid, day)
    assert path.times, f"no real ticks for {symbol} on {day}"
    agg = BarAggregator(_bounds, grace_s=2)
    midnight = datetime.combine(day, time(), IST)
    out = []
    for i, (sec, price, cum) in enumerate(zip(path.times, path.prices, path.cumvol)):
        at = (midnight + timedelta(seconds=sec)).astimezone(UTC)
        out += agg.on_tick(_tick(sid, at, round(price * 100), cum, i), at)
    out += agg.on_time(datetime.combine(day, time(15, 31), IST))
    return out


def _source(symbol: str, interval: str, day: date) -> pl.DataFrame:
    df = pl.read_parquet(DATA / f"NSE_EQ-{symbol}-{interval}.parquet")
    return df.filter(pl.col("ts").dt.date() == day)


@pytest.mark.parametrize(("symbol", "sid"), [("RELIANCE", "2885"), ("TCS", "11536")])
def test_one_minute_bars_rebuilt_from_real_ticks_equal_the_source_bars(symbol, sid):
    out = _replay_real_day(symbol, sid, DAY)
    ones = [b for b in out if isinstance(b, Bar) and b.interval == "1m"]
    src = _source(symbol, "1m", DAY)
    assert len(ones) == src.height == 375
    for bar, row in zip(ones, src.iter_rows(named=True)):
        assert bar.start == row["ts"].astimezone(UTC)
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            round(row[k] * 100) for k in ("open", "high", "low", "close"))
        assert bar.volume == row["volume"]
    assert len({b.event_id for b in out}) == len(out), "every bar is published once"


def test_rollups_aggregate_the_minute_bars_on_session_aligned_buckets():
    out = _replay_real_day("RELIANCE", "2885", DAY)
    src = _source("RELIANCE", "1m", DAY).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
    for interval, every in (("5m", "5m"), ("15m", "15m"), ("1h", "1h")):
        got = [b for b in out if isinstance(b, Bar) and b.interval == interval]
        want = src.group_by_dynamic("ts", every=every, offset="45m" if interval == "1h" else "0m").agg(
            pl.col("open").first(), pl.col("high").max(), pl.col("low").min(),
            pl.col("close").last(), pl.col("volume").sum())
        assert len(got) == want.height, interval
        for bar, row in zip(got, want.iter_rows(named=True)):
            assert bar.start == row["ts"]
            assert (bar.open, bar.close, bar.volume) == (
                round(row["open"] * 100), round(row["close"] * 100), row["volume"])
    (day_bar,) = [b for b in out if b.interval == "1d"]
    assert day_bar.start == datetime.combine(DAY, time(), IST)
    assert day_bar.end == datetime.combine(DAY, time(15, 30), IST)
    assert day_bar.volume == src["volume"].sum()
    hourly = [b for b in out if b.interval == "1h"]
    assert hourly[0].start == datetime.combine(DAY, time(9, 15), IST)
    assert hourly[-1].end == datetime.combine(DAY, time(15, 30), IST)


def test_bar_closes_at_boundary_plus_grace_and_a_late_tick_is_an_explicit_correction():
    agg = BarAggregator(_bounds, grace_s=2)
    t0 = datetime.combine(DAY, time(10, 0, 5), IST).astimezone(UTC)
    assert agg.on_tick(_tick("1", t0 - timedelta(minutes=1), 100_00, 10, ltq=10), t0) == []
    (prev,) = [b for b in agg.on_tick(_tick("1", t0, 101_00, 100, ltq=5), t0) if b.interval == "1m"]
    assert prev.volume == 10, "closed by the next minute's first tick; mid-day start counts ltq"
    assert agg.on_tick(_tick("1", t0 + timedelta(seconds=20), 102_00, 130), t0) == []
    assert agg.on_time(t0 + timedelta(seconds=56)) == []  # 10:01:01 < end + grace
    (bar,) = [b for b in agg.on_time(t0 + timedelta(seconds=58)) if b.interval == "1m"]
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (101_00, 102_00, 101_00, 102_00, 120)
    assert agg.on_time(t0 + timedelta(seconds=90)) == [], "a bar is published once"
    late = agg.on_tick(_tick("1", t0 + timedelta(seconds=10), 99_00, 140), t0 + timedelta(seconds=91))
    fix = [e for e in late if isinstance(e, BarCorrected) and e.bar.interval == "1m"]
    assert len(fix) == 1
    assert fix[0].previous.low == 101_00 and fix[0].bar.low == 99_00
    assert fix[0].bar.volume == 130 and fix[0].bar.close == 102_00  # not the last trade
    # Ticks outside the session never make bars.
    pre = datetime.combine(DAY, time(9, 10), IST)
    assert agg.on_tick(_tick("2", pre, 100_00, 1), pre) == []

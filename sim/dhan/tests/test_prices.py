"""Ticks from bars, seeded synthetic paths, derivatives, the clock and history rules."""

from __future__ import annotations

from datetime import date, datetime

import httpx
from dhansim.clock import IST, SimClock
from dhansim.instruments import InstrumentMaster
from dhansim.prices import PriceLibrary
from dhansim.settings import find_data_dir
from dhansim.synth import bars_to_ticks
from hypothesis import given
from hypothesis import strategies as st

MASTER = InstrumentMaster.load()
DAY = date(2025, 7, 23)


@st.composite
def bars(draw):
    out = []
    for k in range(draw(st.integers(1, 5))):
        low = draw(st.floats(10, 1000))
        high = low + draw(st.floats(0, 50))
        o, c = draw(st.floats(low, high)), draw(st.floats(low, high))
        out.append((33300 + 60 * k, o, high, low, c, draw(st.integers(0, 10**7))))
    return out


@given(bars())
def test_ticks_keep_each_bar_ohlc_and_volume(sample):
    ticks = bars_to_ticks(sample, 60)
    assert len(ticks) == 4 * len(sample)
    for k, (start, o, h, low, c, v) in enumerate(sample):
        chunk = ticks[4 * k: 4 * k + 4]
        prices = [p for _, p, _ in chunk]
        assert prices[0] == o and prices[-1] == c
        assert max(prices) == h and min(prices) == low
        assert sum(size for _, _, size in chunk) == v
        assert all(start <= t < start + 60 for t, _, _ in chunk)


def test_real_day_replay_sums_to_the_day_volume():
    lib = PriceLibrary(MASTER, find_data_dir(), seed=0)
    path = lib.path("NSE_EQ", "2885", DAY)
    real, interval = lib.intraday_bars(MASTER.get("NSE_EQ", "2885"), DAY)
    assert interval == 60 and path.cumvol[-1] == sum(b[5] for b in real)
    assert path.prev_close == 1412.8  # the real 1d close of 2025-07-22


def test_synthetic_paths_are_seeded_and_derivatives_follow_the_underlying():
    a = PriceLibrary(MASTER, None, seed=1).path("NSE_EQ", "2885", DAY)
    b = PriceLibrary(MASTER, None, seed=1).path("NSE_EQ", "2885", DAY)
    c = PriceLibrary(MASTER, None, seed=2).path("NSE_EQ", "2885", DAY)
    assert a.prices == b.prices and a.prices != c.prices
    lib = PriceLibrary(MASTER, find_data_dir(), seed=0)
    index = lib.path("IDX_I", "13", DAY)
    future = lib.path("NSE_FNO", "53001", DAY)
    assert len(future.prices) == len(index.prices)
    assert all(0 < f - i < 0.01 * i for f, i in zip(future.prices, index.prices))
    assert all(p > 0 for p in lib.path("NSE_FNO", "54001", DAY).prices)
    assert lib.is_trading_day(MASTER.get("IDX_I", "13"), date(2024, 3, 8)) is False  # holiday


def test_clock_maps_wall_time_with_speed_and_pause():
    wall = [1000.0]
    clock = SimClock(anchor_sim=datetime(2025, 7, 23, 9, 15, tzinfo=IST), speed=60.0,
                     wall=lambda: wall[0])
    wall[0] += 2
    assert clock.now_ist() == datetime(2025, 7, 23, 9, 17, tzinfo=IST)
    clock.set(paused=True)
    wall[0] += 100
    assert clock.now_ist() == datetime(2025, 7, 23, 9, 17, tzinfo=IST)
    assert clock.epoch == 1 and clock.to_json()["now"] == "2025-07-23T03:47:00.000Z"


async def test_history_rules(sim, client):
    daily = (await client.post("/charts/historical", json={
        "securityId": "2885", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
        "fromDate": "2025-07-21", "toDate": "2025-07-22"})).json()
    assert len(daily["timestamp"]) == 1  # toDate is exclusive
    future = (await client.post("/charts/intraday", json={
        "securityId": "2885", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
        "interval": "5", "fromDate": "2025-07-23 09:15:00", "toDate": "2025-07-23 15:30:00"}))
    assert future.json()["open"] == []  # nothing after the simulated now
    sim.set_clock(at="2025-07-23T09:45:00")
    partial = (await client.post("/charts/intraday", json={
        "securityId": "2885", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
        "interval": 15, "fromDate": "2025-07-23", "toDate": "2025-07-23"})).json()
    assert len(partial["open"]) == 2 and partial["open"][0] == 1426.0
    too_long = await client.post("/charts/intraday", json={
        "securityId": "2885", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
        "interval": 1, "fromDate": "2025-01-01", "toDate": "2025-07-01"})
    assert too_long.status_code == 400 and "90 days" in too_long.json()["errorMessage"]
    unknown = (await client.post("/charts/historical", json={
        "securityId": "424242", "exchangeSegment": "NSE_EQ", "instrument": "EQUITY",
        "fromDate": "2025-07-01", "toDate": "2025-07-22"})).json()
    assert unknown["close"] == []
    synthetic = (await client.post("/charts/intraday", json={
        "securityId": "25", "exchangeSegment": "IDX_I", "instrument": "INDEX", "interval": 60,
        "fromDate": "2025-07-22", "toDate": "2025-07-22"})).json()
    assert len(synthetic["open"]) == 7 and set(synthetic["volume"]) == {0}


async def test_quote_shapes(sim, client):
    r = (await client.post("/marketfeed/ohlc", json={"NSE_EQ": [2885, 123456],
                                                     "IDX_I": [13]})).json()
    assert r["status"] == "success" and list(r["data"]["NSE_EQ"]) == ["2885"]
    assert r["data"]["NSE_EQ"]["2885"]["ohlc"]["close"] == 1412.8
    bad = await client.post("/marketfeed/ltp", json={"NOPE": [1]})
    assert bad.status_code == 400 and bad.json() == {"status": "failed",
                                                     "data": {"814": "Invalid Request"}}
    assert isinstance(httpx.URL(sim.api_base).port, int)

"""The live path against the simulator: lease -> feed -> ticks, bars equal to real data, quotes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import polars as pl
import pytest
from contracts import marketdata as md
from contracts import subjects
from contracts.events.marketdata import Bar, Tick
from marketdata.calendar import IST
from svckit.nats import request

from .conftest import until

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[3] / "data" / "ohlc"
RELIANCE = md.InstrumentRef(segment="NSE_EQ", security_id="2885")


async def test_leased_instrument_streams_ticks_bars_equal_to_real_data_and_quotes(sim, app_for):
    async with app_for() as rt:
        nc = rt.nc
        ticks: list[Tick] = []
        bars: list[Bar] = []
        await nc.subscribe(subjects.tick("NSE_EQ", "2885"), cb=_collect(ticks, Tick))
        await nc.subscribe(subjects.bar("1m", "NSE_EQ", "2885"), cb=_collect(bars, Bar))
        page = await request(nc, md.SEARCH_INSTRUMENTS, md.SearchInstruments(q="RELI"),
                             reply_model=md.InstrumentPage)
        assert page.items[0].symbol == "RELIANCE" and page.items[0].segment == "NSE_EQ"
        granted = await request(nc, md.LEASE, md.LeaseInstruments(owner="page-1",
                                instruments=[RELIANCE], ttl_s=60), reply_model=md.LeaseGranted)
        assert granted.instruments == 1
        await until(lambda: rt.marketdata.feed.connected == 1)
        # Step the paused market through each replayed trade (09:15:00, :15, :30, :45, ...)
        # and wait for it to arrive: deterministic however loaded the machine is.
        open_ = datetime(2025, 7, 23, 9, 15, tzinfo=IST)
        for k in range(9):
            at = open_ + timedelta(seconds=15 * k)
            sim.set_clock(at=at, paused=True)
            await until(lambda at=at: ticks and ticks[-1].ltt == at)
        await until(lambda: len(bars) >= 2)
        src = pl.read_parquet(DATA / "NSE_EQ-RELIANCE-1m.parquet").filter(
            pl.col("ts").dt.date() == date(2025, 7, 23)).head(2)
        for bar, row in zip(bars, src.iter_rows(named=True)):
            assert bar.start == row["ts"].astimezone(UTC)
            assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
                round(row["open"] * 100), round(row["high"] * 100), round(row["low"] * 100),
                round(row["close"] * 100), row["volume"])
        assert len({b.start for b in bars}) == len(bars), "each bar published once"
        first = ticks[0]
        assert first.ltt.tzinfo is not None and first.ltt.utcoffset().total_seconds() == 0
        assert first.ltt == src["ts"][0].astimezone(UTC), "IST-shifted LTT decoded to true UTC"
        quote = await until(lambda: _quote(nc))
        assert quote.source == "feed" and quote.ltp > 0 and quote.symbol == "RELIANCE"
        stored = await rt.pool.fetchval("SELECT count(*) FROM candles WHERE interval = '1m'")
        assert stored >= 2


async def _quote(nc):
    q = await request(nc, md.GET_QUOTE, md.GetQuote(symbol="RELIANCE"), reply_model=md.Quote)
    return q if q.source == "feed" else None


def _collect(items, kind):
    async def cb(msg):
        items.append(msgspec.json.decode(msg.data, type=kind))

    return cb


async def test_without_a_token_the_demo_creates_its_own_simulator_client(sim, app_for):
    async with app_for(dhan_client_id=None, dhan_access_token=None) as rt:
        await request(rt.nc, md.LEASE, md.LeaseInstruments(owner="demo", instruments=[RELIANCE]),
                      reply_model=md.LeaseGranted)
        await until(lambda: rt.marketdata.feed.connected == 1)
        client_id = rt.marketdata.quotes._rest.client_id
        assert sim.sim.feed_hub.count(client_id) == 1

"""Request/reply against the simulator: leases expire, history pages, bulk export, search."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from contracts import marketdata as md
from marketdata.calendar import IST
from svckit.errors import RemoteError
from svckit.nats import request

from .conftest import until

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[3] / "data" / "ohlc"
RELIANCE = md.InstrumentRef(segment="NSE_EQ", security_id="2885")
TCS = md.InstrumentRef(segment="NSE_EQ", security_id="11536")


def _ist(d: date, t: time = time()) -> datetime:
    return datetime.combine(d, t, IST)


async def test_leases_are_reference_counted_and_expire_off_the_feed(sim, app_for):
    async with app_for() as rt:
        leases = rt.marketdata.leases
        feed = rt.marketdata.feed
        await request(rt.nc, md.LEASE, md.LeaseInstruments(owner="page-b", instruments=[RELIANCE],
                      ttl_s=60), reply_model=md.LeaseGranted)
        await leases.acquire("page-a", [("NSE_EQ", "2885")], ttl_s=3)
        assert (await leases.active())[("NSE_EQ", "2885")] == 2
        await until(lambda: ("NSE_EQ", "2885") in feed.assigned)
        released = await request(rt.nc, md.RELEASE, md.ReleaseInstruments(owner="page-b"),
                                 reply_model=md.Released)
        assert released.released == 1
        # page-a never renews: its short lease runs out and the feed drops the instrument.
        await until(lambda: ("NSE_EQ", "2885") not in feed.assigned, timeout=10)
        assert await leases.active() == {}
        hub_conns = sim.sim.feed_hub.conns.get(rt.marketdata.feed.connections[0]._url
                                               .split("clientId=")[1].split("&")[0], [])
        await until(lambda: all(not c.subs for c in hub_conns))


async def test_history_backfill_pages_across_the_90_day_limit_once(sim, app_for):
    async with app_for(feed_enabled=False) as rt:
        history = rt.marketdata.history
        rest = history._rest
        start, end = _ist(date(2025, 1, 1)), _ist(date(2025, 7, 23))
        calls = rest.data_pacer.calls
        got = await history.backfill("NSE_EQ", "2885", "EQUITY", "1m", start, end)
        assert rest.data_pacer.calls - calls == 3, "203 days = 90 + 90 + 23"
        src = pl.read_parquet(DATA / "NSE_EQ-RELIANCE-1m.parquet").filter(
            (pl.col("ts") >= start) & (pl.col("ts") < end))
        stored = {r["ts"] for r in await rt.pool.fetch(
            "SELECT ts FROM candles WHERE security_id = '2885' AND interval = '1m'")}
        assert got == len(stored)
        # Every real bar arrived (the simulator also synthesises days missing from the file).
        assert {t.astimezone(UTC) for t in src["ts"]} <= stored
        calls = rest.data_pacer.calls
        assert await history.backfill("NSE_EQ", "2885", "EQUITY", "1m", start, end) == 0
        assert rest.data_pacer.calls == calls, "fetched days are cached, never refetched"
        day = date(2025, 7, 22)
        hist = await request(rt.nc, md.GET_HISTORY, md.GetHistory(
            symbol="RELIANCE", interval="1m", **{"from": _ist(day)}, to=_ist(day, time(23))),
            reply_model=md.History)
        want = src.filter(pl.col("ts").dt.date() == day)
        assert len(hist.candles) == want.height == 375
        assert hist.candles[0].ts == want["ts"][0].astimezone(UTC)
        assert float(hist.candles[0].open) == want["open"][0]
        with pytest.raises(RemoteError) as err:
            await request(rt.nc, md.GET_HISTORY, md.GetHistory(
                symbol="RELIANCE", interval="1m", **{"from": start}, to=end))
        assert err.value.api_error.code == 413


async def test_bulk_history_goes_through_the_object_store_as_parquet(sim, app_for, tmp_path):
    async with app_for(feed_enabled=False) as rt:
        day = date(2025, 7, 22)
        ready = await request(rt.nc, md.BULK_HISTORY, md.BulkHistory(
            instruments=[RELIANCE, TCS], interval="5m", **{"from": _ist(day)},
            to=_ist(day, time(23))), reply_model=md.BulkHistoryReady, timeout=30)
        assert ready.rows == 2 * 75 and ready.bucket == md.HISTORY_BUCKET
        store = await rt.js.object_store(ready.bucket)
        blob = await store.get(ready.object_name)
        path = tmp_path / "x.parquet"
        path.write_bytes(blob.data)
        df = pl.read_parquet(path)
        assert df.height == ready.rows and set(df["securityId"]) == {"2885", "11536"}
        assert df.schema["open"] == pl.Int64


async def test_search_exact_then_prefix_then_fuzzy_with_filters_and_pages(sim, app_for):
    async with app_for(feed_enabled=False) as rt:
        async def search(**kw) -> md.InstrumentPage:
            return await request(rt.nc, md.SEARCH_INSTRUMENTS, md.SearchInstruments(**kw),
                                 reply_model=md.InstrumentPage)

        exact = await search(q="TCS")
        assert (exact.items[0].symbol, exact.items[0].segment) == ("TCS", "NSE_EQ")
        nifty = await search(q="NIFTY", type="INDEX")
        assert nifty.items[0].symbol == "NIFTY" and all(i.instrument == "INDEX" for i in nifty.items)
        bse = await search(q="RELIANCE", segment="BSE_EQ")
        assert [i.security_id for i in bse.items] == ["500325"]
        fuzzy = await search(q="Reliance Industr")
        assert fuzzy.items and fuzzy.items[0].symbol == "RELIANCE"
        p1, p2 = await search(q="N", page_size=5), await search(q="N", page=2, page_size=5)
        assert p1.total == p2.total > 10 and not {i.security_id for i in p1.items} & {
            i.security_id for i in p2.items}
        inst = await request(rt.nc, md.INSTRUMENT_BY_ID, RELIANCE, reply_model=md.Instrument)
        assert inst.symbol == "RELIANCE" and str(inst.tick_size) == "0.1000"
        fut = await request(rt.nc, md.INSTRUMENT_BY_SYMBOL, md.InstrumentBySymbol(
            symbol="NIFTY-Jul2025-FUT"), reply_model=md.Instrument)
        assert fut.lot_size == 75 and fut.expiry is not None and fut.segment == "NSE_FNO"
        with pytest.raises(RemoteError) as err:
            await request(rt.nc, md.INSTRUMENT_BY_SYMBOL, md.InstrumentBySymbol(symbol="NOPE"))
        assert err.value.api_error.code == 404


async def test_quote_falls_back_to_dhan_rest_when_nothing_is_cached(sim, app_for):
    async with app_for(feed_enabled=False) as rt:
        q = await request(rt.nc, md.GET_QUOTE, md.GetQuote(segment="NSE_EQ", security_id="2885"),
                          reply_model=md.Quote)
        assert q.source == "dhan" and q.ltp == Decimal("1426.00") and q.symbol == "RELIANCE"
        assert await rt.redis.get(rt.settings.key("quote", "NSE_EQ", "2885")), "cached for the TTL"
        again = await request(rt.nc, md.GET_QUOTE, md.GetQuote(symbol="RELIANCE"),
                              reply_model=md.Quote)
        assert again.source == "feed" and again.ltp == q.ltp


async def test_calendar_over_nats_follows_the_simulated_market_clock(sim, app_for):
    async with app_for(feed_enabled=False) as rt:
        now = await request(rt.nc, md.MARKET_OPEN, md.MarketOpenQuery(), reply_model=md.MarketSession)
        assert now.open and now.session == "normal"
        assert now.at == _ist(date(2025, 7, 23), time(9, 15)), "business time is the simulator's"
        assert now.session_close == _ist(date(2025, 7, 23), time(15, 30))
        holiday = await request(rt.nc, md.MARKET_OPEN, md.MarketOpenQuery(
            at=_ist(date(2025, 8, 15), time(10))), reply_model=md.MarketSession)
        assert not holiday.open and holiday.holiday == "Independence Day"
        assert holiday.next_open == _ist(date(2025, 8, 18), time(9, 15))
        sq = await request(rt.nc, md.SQUARE_OFF, md.SquareOffQuery(), reply_model=md.SquareOff)
        assert sq.broker_square_off == _ist(date(2025, 7, 23), time(15, 20))
        assert sq.platform_square_off == _ist(date(2025, 7, 23), time(15, 15))
        status = await request(rt.nc, md.MARKET_STATUS, md.MarketStatusQuery(),
                               reply_model=md.MarketStatus)
        assert status.feed.state == "disabled" and status.segments[0].open


async def test_unconfirmed_bars_are_republished_under_their_bar_id(sim, app_for):
    async with app_for(feed_enabled=False) as rt:
        got = []

        async def on_bar(msg):
            got.append((msg.headers or {}).get("Nats-Msg-Id"))

        await rt.nc.subscribe("md.bar.1m.NSE_EQ.2885", cb=on_bar)
        start = _ist(date(2025, 7, 23), time(9, 15))
        await rt.pool.execute(
            "INSERT INTO candles (segment, security_id, interval, ts, open, high, low, close,"
            " volume, source, stored_at) VALUES ('NSE_EQ', '2885', '1m', $1, 1, 2, 1, 2, 5,"
            " 'feed', now() - interval '1 minute')", start)
        # The service's own recovery sweep may get there first; either way, once.
        await rt.pipeline.republish_pending()
        await until(lambda: got)
        assert got == [f"bar-1m-NSE_EQ-2885-{int(start.timestamp())}"]
        assert await rt.pipeline.republish_pending() == 0

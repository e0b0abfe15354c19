"""Proof of fidelity: the official dhanhq 2.3.0 SDK, unchanged but for its base URLs."""

from __future__ import annotations

import asyncio
from datetime import date

import polars as pl
import pytest
from dhanhq import DhanContext, OrderUpdate, dhanhq
from dhanhq.marketfeed import MarketFeed
from dhansim.settings import find_data_dir

from .conftest import until


def sdk(sim, client_id: str, token: str):
    ctx = DhanContext(client_id, token)
    ctx.get_dhan_http().base_url = sim.api_base  # the only change: where Dhan lives
    return ctx, dhanhq(ctx)


async def call(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_orders_portfolio_and_funds_through_the_sdk(sim):
    cid, tok = sim.create_client(funds=500_000, holdings=[
        {"securityId": "11536", "quantity": 5, "avgCostPrice": 3300.0}])
    _, dhan = sdk(sim, cid, tok)
    placed = await call(dhan.place_order, security_id="2885", exchange_segment=dhan.NSE,
                        transaction_type=dhan.BUY, quantity=10, order_type=dhan.MARKET,
                        product_type=dhan.INTRA, price=0, tag="sdk-order-1")
    assert placed["status"] == "success", placed
    assert placed["data"]["orderStatus"] == "TRANSIT"
    order_id = placed["data"]["orderId"]

    async def traded():
        got = await call(dhan.get_order_by_id, order_id)
        return got["data"] and got["data"][0]["orderStatus"] == "TRADED" and got["data"][0]

    order = await until(traded)
    assert order["filledQty"] == 10 and order["orderType"] == "LIMIT"
    by_tag = await call(dhan.get_order_by_correlationID, "sdk-order-1")
    assert by_tag["status"] == "success" and by_tag["data"]["orderId"] == order_id
    missing = await call(dhan.get_order_by_correlationID, "nope")
    assert missing["status"] == "failure" and missing["remarks"]["error_code"] == "DH-906"
    book = await call(dhan.get_order_list)
    assert [o["orderId"] for o in book["data"]] == [order_id]
    trades = await call(dhan.get_trade_book)
    assert trades["data"][0]["tradedQuantity"] == 10
    positions = await call(dhan.get_positions)
    pos = positions["data"][0]
    assert (pos["securityId"], pos["netQty"], pos["positionType"]) == ("2885", 10, "LONG")
    holdings = await call(dhan.get_holdings)
    assert holdings["data"][0]["tradingSymbol"] == "TCS" and holdings["data"][0]["totalQty"] == 5
    funds = await call(dhan.get_fund_limits)
    expected = 500_000 - 0.2 * 10 * order["averageTradedPrice"]
    assert funds["data"]["availabelBalance"] == pytest.approx(expected, abs=0.05)
    cancel = await call(dhan.cancel_order, order_id)
    assert cancel["status"] == "failure" and cancel["remarks"]["error_code"] == "DH-906"


async def test_quotes_and_history_through_the_sdk(sim, client):
    _, dhan = sdk(sim, client.client_id, client.token)
    ltp = await call(dhan.ticker_data, {"NSE_EQ": [2885], "IDX_I": [13]})
    assert ltp["data"]["status"] == "success"
    assert ltp["data"]["data"]["NSE_EQ"]["2885"]["last_price"] == 1426.0  # real 09:15 open
    quote = await call(dhan.quote_data, {"NSE_EQ": [2885]})
    q = quote["data"]["data"]["NSE_EQ"]["2885"]
    assert q["ohlc"]["open"] == 1426.0 and len(q["depth"]["buy"]) == 5

    daily = await call(dhan.historical_daily_data, "2885", "NSE_EQ", "EQUITY",
                       "2025-07-01", "2025-07-23")
    real = pl.read_parquet(find_data_dir() / "NSE_EQ-RELIANCE-1d.parquet").filter(
        (pl.col("ts").dt.date() >= date(2025, 7, 1)) & (pl.col("ts").dt.date() < date(2025, 7, 23)))
    assert daily["data"]["close"] == real["close"].to_list()
    first = dhan.convert_to_date_time(daily["data"]["timestamp"][0])
    assert str(first) == "2025-07-01"  # the SDK shows 00:00 IST stamps as plain dates

    minute = await call(dhan.intraday_minute_data, "2885", "NSE_EQ", "EQUITY",
                        "2025-07-22 09:15:00", "2025-07-22 15:30:00", 1)
    real_1m = pl.read_parquet(find_data_dir() / "NSE_EQ-RELIANCE-1m.parquet").filter(
        pl.col("ts").dt.date() == date(2025, 7, 22))
    assert minute["data"]["open"] == real_1m["open"].to_list()
    assert minute["data"]["high"] == real_1m["high"].to_list()
    assert minute["data"]["volume"] == real_1m["volume"].to_list()
    assert minute["data"]["timestamp"][0] == int(real_1m["ts"][0].timestamp())


async def test_market_feed_decoded_by_the_sdk(sim, client, monkeypatch):
    monkeypatch.setattr(MarketFeed, "market_feed_wss", sim.feed_url)
    ctx, _ = sdk(sim, client.client_id, client.token)
    sim.set_clock(speed=120.0, paused=False)

    def consume():
        feed = MarketFeed(ctx, [(1, "2885", 15), (1, "2885", 17), (2, "53001", 21),
                                (2, "54011", 17)], version="v2")
        feed.run_forever()
        seen: dict[str, dict] = {}
        for _ in range(200):
            packet = feed.get_data()
            if isinstance(packet, dict):
                seen.setdefault(packet["type"], packet)
            if len(seen) == 5:
                break
        feed.close_connection()
        return seen

    seen = await asyncio.to_thread(consume)
    assert set(seen) == {"Previous Close", "Ticker Data", "Quote Data", "Full Data", "OI Data"}
    assert seen["Ticker Data"]["security_id"] == 2885
    assert seen["Full Data"]["exchange_segment"] == 2 and len(seen["Full Data"]["depth"]) == 5
    assert float(seen["Ticker Data"]["LTP"]) > 1000
    assert seen["Ticker Data"]["LTT"].startswith("09:")  # IST wall clock, as Dhan encodes it


async def test_order_updates_reach_the_sdk_socket(sim, client):
    ctx, dhan = sdk(sim, client.client_id, client.token)
    updates: list[dict] = []
    socket = OrderUpdate(ctx)
    socket.order_feed_wss = sim.order_url
    socket.on_update = updates.append
    task = asyncio.create_task(socket.connect_order_update())
    try:
        await until(lambda: sim.sim.order_hub.count(client.client_id) == 1)
        placed = await call(dhan.place_order, security_id="2885", exchange_segment=dhan.NSE,
                            transaction_type=dhan.BUY, quantity=1, order_type=dhan.LIMIT,
                            product_type=dhan.CNC, price=1400.0)
        oid = placed["data"]["orderId"]
        await until(lambda: any(u["Data"]["Status"] == "PENDING" for u in updates))
        first = updates[0]
        assert first["Type"] == "order_alert" and first["Data"]["OrderNo"] == oid
        assert first["Data"]["Product"] == "C" and first["Data"]["TxnType"] == "B"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

"""History over NATS: a stand-in marketdata answers bulk history through the Object Store."""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl
from backtest.app import build_app
from backtest.testing import REPO_DATA, discoverable, eventually, strategy_body
from contracts import backtest as C
from contracts import marketdata as md
from nats.js.api import ObjectStoreConfig


async def serve_bulk_history(nc) -> list[md.BulkHistory]:
    """Answer BULK_HISTORY like marketdata does: Parquet in paise, in the md-history bucket."""
    js = nc.jetstream()
    store = await js.create_object_store(md.HISTORY_BUCKET, config=ObjectStoreConfig())
    asked: list[md.BulkHistory] = []

    async def on(msg):
        q = md.BulkHistory.model_validate_json(msg.data)
        asked.append(q)
        ref = q.instruments[0]
        utc = pl.col("ts").dt.convert_time_zone("UTC")
        df = (pl.read_parquet(REPO_DATA / "NSE_EQ-RELIANCE-1d.parquet")
              .filter((utc >= q.from_) & (utc < q.to))
              .select(pl.lit(ref.segment).alias("segment"), pl.lit(ref.security_id).alias("securityId"),
                      utc.dt.cast_time_unit("us").alias("ts"),
                      *((pl.col(c) * 100).round().cast(pl.Int64) for c in ("open", "high", "low", "close")),
                      pl.col("volume"), pl.lit(None, dtype=pl.Int64).alias("oi")))
        buf = io.BytesIO()
        df.write_parquet(buf)
        await store.put("history/test.parquet", buf.getvalue())
        reply = md.BulkHistoryReady(bucket=md.HISTORY_BUCKET, object_name="history/test.parquet",
                                    rows=df.height, size_bytes=len(buf.getvalue()))
        await msg.respond(reply.model_dump_json(by_alias=True).encode())

    await nc.subscribe(md.BULK_HISTORY, cb=on)
    await nc.flush()
    return asked


async def test_backtest_reads_history_from_marketdata(settings, history, client, nc):
    asked = await serve_bulk_history(nc)
    alice = client("alice")
    async with build_app(settings):  # no history override: the marketdata source
        await discoverable(nc)
        made = await alice.call(C.CREATE_STRATEGY, strategy_body())
        over_nats = await alice.call(C.CREATE_BACKTEST, {"strategyId": made["id"],
                                                         "fromDate": "2021-01-01", "toDate": "2024-12-31"})

        async def completed():
            b = await alice.call(C.GET_BACKTEST, {"id": over_nats["id"]})
            assert b["status"] not in ("failed", "cancelled"), b["error"]
            return b if b["status"] == "completed" else None

        got = await eventually(completed, what="backtest over marketdata")
    assert asked[0].instruments[0].security_id == "2885" and asked[0].interval == "1d"
    assert asked[0].from_.isoformat() == "2020-12-31T18:30:00+00:00"

    async with build_app(settings, history):  # the same backtest from the local Parquet file
        await discoverable(nc)
        local = await alice.call(C.CREATE_BACKTEST, {"strategyId": made["id"],
                                                     "fromDate": "2021-01-01", "toDate": "2024-12-31"})
        want = await eventually(lambda: _completed(alice, local["id"]), what="local backtest")
    assert got["metrics"]["totalTrades"] == want["metrics"]["totalTrades"] > 0
    assert Decimal(got["metrics"]["netProfit"]) == Decimal(want["metrics"]["netProfit"])


async def _completed(alice, bid: str):
    b = await alice.call(C.GET_BACKTEST, {"id": bid})
    return b if b["status"] == "completed" else None

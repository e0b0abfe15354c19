"""Backtests over NATS: a real five-year RELIANCE run equals btengine, progress, results, exports."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date
from decimal import Decimal

import btengine
import polars as pl
import strategy
from backtest.app import build_app
from backtest.compute import window
from backtest.testing import REPO_DATA, SMA_ENTRY, SMA_EXIT, discoverable, eventually, strategy_body
from contracts import backtest as C
from strategy import vectorized

FROM, TO = "2020-10-01", "2025-09-30"


def direct_run() -> btengine.Result:
    """The same backtest by calling the libraries directly on the same bars."""
    start, end = window(date.fromisoformat(FROM), date.fromisoformat(TO))
    bars = pl.read_parquet(REPO_DATA / "NSE_EQ-RELIANCE-1d.parquet")
    utc = pl.col("ts").dt.convert_time_zone("UTC")
    bars = bars.filter((utc >= start) & (utc < end)).sort("ts")
    entries, exits = vectorized.signals(strategy.parse(SMA_ENTRY), strategy.parse(SMA_EXIT), bars)
    settings = btengine.Settings(quantity=10, stop_loss_pct=2.0, target_pct=4.0, product="delivery",
                                 initial_capital=100_000.0, costs=True)
    return btengine.run(bars, entries.to_numpy(), exits.to_numpy(), settings)


async def run_backtest(alice, body: dict | None = None) -> tuple[dict, dict]:
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    queued = await alice.call(C.CREATE_BACKTEST, {"strategyId": made["id"], "fromDate": FROM,
                                                  "toDate": TO, **(body or {})})
    return made, queued


async def done(alice, bid: str, status: str = "completed") -> dict:
    async def check():
        b = await alice.call(C.GET_BACKTEST, {"id": bid})
        return b if b["status"] == status else None
    return await eventually(check, what=f"backtest {status}")


async def test_reliance_five_years_matches_the_engine(app, client, events):
    alice = client("alice")
    made, queued = await run_backtest(alice)
    assert queued["status"] == "queued" and queued["strategyVersionId"] == made["versionId"]
    assert queued["params"]["interval"] == "1d" and queued["params"]["initialCapital"] == "100000"
    finished = await done(alice, queued["id"])
    assert finished["progress"] == 100 and finished["attempts"] == 1

    expected = direct_run()
    res = await alice.call(C.BACKTEST_RESULTS, {"id": queued["id"], "pageSize": 1000})
    m = res["metrics"]
    assert res["trades"]["total"] == m["totalTrades"] == expected.metrics["total_trades"] > 5
    assert Decimal(m["netProfit"]) == expected.metrics["net_profit"]
    assert sum(Decimal(t["pnlNet"]) for t in res["trades"]["items"]) == expected.metrics["net_profit"]
    assert m["sharpe"] == expected.metrics["sharpe"] and m["costsApplied"] is True
    assert res["bars"] == len(expected.equity) == len(res["equityCurve"])
    first = expected.trade_records()[0]
    t0 = res["trades"]["items"][0]
    assert Decimal(t0["entryPrice"]) == first["entry_price"] and t0["exitReason"] == first["exit_reason"]
    assert t0["entryTime"].endswith("+05:30")

    await eventually(lambda: events.of(".backtest.completed"), what="completed event")
    progress = [e["percent"] for e in events.of("evt.alice.backtest.progress")]
    assert progress == sorted(progress) and len(progress) >= 4 and progress[-1] == 90
    assert [s for s, _ in events.items if s.endswith(".queued")] == ["evt.alice.backtest.queued"]
    status = await eventually(lambda: events.of(".strategy.status_changed"), what="status event")
    assert status[0]["oldStatus"] == "draft" and status[0]["newStatus"] == "backtested"
    assert (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["status"] == "backtested"

    history = await alice.call(C.BACKTEST_HISTORY, {"strategyId": made["id"]})
    assert [b["id"] for b in history["items"]] == [queued["id"]]
    bob = client("bob")
    assert (await bob.error(C.BACKTEST_RESULTS, {"id": queued["id"]})).error == "NOT_FOUND"
    assert (await bob.call(C.BACKTEST_HISTORY))["total"] == 0


async def test_exports_and_analytics(app, client):
    alice = client("alice")
    made, queued = await run_backtest(alice, {"costs": False})
    await done(alice, queued["id"])
    bid = queued["id"]

    f = await alice.call(C.EXPORT_BACKTEST, {"id": bid, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(f["contentBase64"]).decode())))
    res = await alice.call(C.BACKTEST_RESULTS, {"id": bid, "pageSize": 1000})
    assert f["contentType"] == "text/csv" and len(rows) == res["trades"]["total"]
    assert sum(Decimal(r["pnl_net"]) for r in rows) == Decimal(res["metrics"]["netProfit"])
    eq = await alice.call(C.EXPORT_BACKTEST, {"id": bid, "format": "csv", "part": "equity"})
    assert base64.b64decode(eq["contentBase64"]).decode().startswith("ts,equity,drawdown")
    pdf = await alice.call(C.EXPORT_BACKTEST, {"id": bid, "format": "pdf"})
    data = base64.b64decode(pdf["contentBase64"])
    assert data.startswith(b"%PDF") and pdf["sizeBytes"] == len(data) > 2000
    assert pdf["filename"] == f"backtest-{bid}.pdf"

    sa = await alice.call(C.STRATEGY_ANALYTICS, {"id": made["id"]})
    assert sa["backtestId"] == bid and sa["completed"] == 1 and sa["metrics"] == res["metrics"]
    dd = await alice.call(C.DRAWDOWN, {"id": made["id"]})
    assert dd["maxDrawdownPct"] == res["metrics"]["maxDrawdownPct"]
    assert dd["periods"] and max(p["depthPct"] for p in dd["periods"]) == dd["maxDrawdownPct"]
    dist = await alice.call(C.DISTRIBUTION, {"id": made["id"], "backtestId": bid})
    assert sum(dist["counts"]) == res["trades"]["total"] == dist["winners"] + dist["losers"]
    heat = await alice.call(C.HEATMAP, {"id": made["id"]})
    assert heat["kind"] == "month_by_year" and heat["cols"][0] == "Jan"
    assert heat["rows"] == ["2020", "2021", "2022", "2023", "2024", "2025"]

    _, second = await run_backtest(alice, {"slippageBps": 10})
    await done(alice, second["id"])
    cmp = await alice.call(C.COMPARE, {"backtestIds": f"{bid},{second['id']}"})
    assert [r["backtestId"] for r in cmp["rows"]] == [bid, second["id"]]
    assert (await client("bob").error(C.COMPARE, {"backtestIds": [bid]})).error == "NOT_FOUND"


async def test_failures_are_reported(app, client, events):
    alice = client("alice")
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    early = await alice.call(C.CREATE_BACKTEST, {"strategyId": made["id"], "fromDate": "2001-01-01",
                                                 "toDate": "2001-12-31"})
    failed = await done(alice, early["id"], "failed")
    assert "no 1d bars" in failed["error"]
    await eventually(lambda: events.of(".backtest.failed"), what="failed event")
    assert (await alice.error(C.BACKTEST_RESULTS, {"id": early["id"]})).error == "CONFLICT"
    err = await alice.error(C.CREATE_BACKTEST, {"strategyId": made["id"], "fromDate": "2024-02-01",
                                                "toDate": "2024-01-01"})
    assert err.error == "VALIDATION_ERROR"


async def test_delete_of_a_backtested_strategy_archives_it(app, client):
    alice = client("alice")
    made, queued = await run_backtest(alice)
    await done(alice, queued["id"])
    gone = await alice.call(C.DELETE_STRATEGY, {"id": made["id"]})
    assert gone["archived"] is True and gone["deleted"] is False
    assert (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["status"] == "archived"
    assert (await alice.call(C.LIST_STRATEGIES))["total"] == 0
    assert (await alice.call(C.LIST_STRATEGIES, {"status": "archived"}))["total"] == 1
    assert (await alice.call(C.BACKTEST_RESULTS, {"id": queued["id"]}))["status"] == "completed"
    assert (await alice.error(C.UPDATE_STRATEGY, {"id": made["id"], "name": "x"})).error == "CONFLICT"


async def test_a_large_export_goes_to_the_object_store(settings, history, client, nc):
    settings = settings.model_copy(update={"export_inline_max_bytes": 200})
    async with build_app(settings, history):
        await discoverable(nc)
        alice = client("alice")
        _, queued = await run_backtest(alice)
        await done(alice, queued["id"])
        f = await alice.call(C.EXPORT_BACKTEST, {"id": queued["id"], "format": "csv"})
        assert f["contentBase64"] is None and f["bucket"] == C.EXPORT_BUCKET
        obj = await (await nc.jetstream().object_store(f["bucket"])).get(f["objectName"])
        assert len(obj.data) == f["sizeBytes"] and obj.data.startswith(b"seq,entry_time")

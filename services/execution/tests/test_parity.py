"""Parity: one real trading day of 1-minute bars through the live path equals the backtest.

The bars (RELIANCE, 2025-07-24, from data/ohlc) are published on `md.bar.1m.*` exactly as
marketdata publishes closed bars; the fake broker consumes the intents from ORDERS and fills
each market order at the next bar's open (what the backtest assumes) through order events.
The execution side - warm-up from history, the incremental evaluator, risk checks, intents,
fills to trades, square-off - is the real service.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from btengine import Settings, run
from contracts import execution as ex
from contracts import marketdata as md
from strategy import parse
from strategy.vectorized import signals

from .conftest import call, make_bar, publish_bar, until
from .fakes import strategy

DATA = Path(__file__).resolve().parents[3] / "data" / "ohlc" / "NSE_EQ-RELIANCE-1m.parquet"
ENTRY = "ema(close, 9) crosses above sma(close, 21) and rsi(14) > 50"
EXIT = "ema(close, 9) crosses below sma(close, 21)"


def _days():
    df = pl.read_parquet(DATA).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
    df = df.with_columns(day=pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.date())
    days = df["day"].unique().sort()
    prev, today = days[-2], days[-1]
    return df.filter(pl.col("day") == prev).drop("day"), df.filter(pl.col("day") == today).drop("day")


def _bars(frame: pl.DataFrame):
    return [make_bar(r["ts"], r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in frame.iter_rows(named=True)]


def _backtest(prev: pl.DataFrame, today: pl.DataFrame):
    both = pl.concat([prev, today])
    entries, exits = signals(parse(ENTRY), parse(EXIT), both)
    n = len(prev)
    e = entries.fill_null(False).to_numpy()[n:]
    x = exits.fill_null(False).to_numpy()[n:]
    result = run(today, e, x, Settings(product="intraday", costs=False, quantity=1))
    fired = {today["ts"][i] for i in range(len(today)) if e[i] and not x[i]}
    return result.trade_records(), fired


@pytest.mark.skipif(not DATA.exists(), reason="real bars not present")
async def test_live_path_matches_backtest_on_a_real_day(app, nc, fakes, clock):
    prev, today = _days()
    fakes.history = [md.Candle(ts=r["ts"], open=Decimal(str(r["open"])),
                               high=Decimal(str(r["high"])), low=Decimal(str(r["low"])),
                               close=Decimal(str(r["close"])), volume=r["volume"])
                     for r in prev.iter_rows(named=True)]
    clock.set(today["ts"][0])
    fakes.strategies[("u1", "s1")] = strategy("u1", entry_rule=ENTRY, exit_rule=EXIT)
    fakes.add_account("u1", "paper1")
    status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "s1", "accountId": "paper1"},
                             "u1")
    assert status == 200, dep
    dep_id = dep["id"]
    await until(lambda: dep_id in app.engine.runners, what="runner")
    pool, js = app.pool, nc.jetstream()
    bars = _bars(today)
    for i, bar in enumerate(bars):
        clock.set(bar.end)
        await publish_bar(js, bar)
        await until(lambda: _seen(pool, dep_id, bar.start), what=f"bar {bar.start}")
        await until(lambda: _all_consumed(pool, fakes), what="intents consumed")
        if fakes.pending:
            nxt = bars[i + 1] if i + 1 < len(bars) else bar
            await fakes.fill_pending(nxt.open if nxt is not bar else bar.close, nxt.start)
            await until(lambda: _settled(pool, dep_id), what="fills applied")

    want, fired = _backtest(prev, today)
    got = await pool.fetch("SELECT * FROM trades WHERE deployment_id = $1::uuid ORDER BY entry_time",
                           dep_id)
    live = [(t["entry_time"], Decimal(t["entry_price_paise"]) / 100, t["exit_time"],
             Decimal(t["exit_price_paise"]) / 100,
             {"exit": "signal"}.get(t["exit_reason"], t["exit_reason"])) for t in got]
    back = [(w["entry_time"], w["entry_price"], w["exit_time"], w["exit_price"], w["exit_reason"])
            for w in want]
    assert len(back) >= 2, "the day should trade"
    assert live == back
    logged = await pool.fetch("SELECT bar->>'start' AS s FROM exec_logs WHERE deployment_id ="
                              " $1::uuid AND action = 'entry'", dep_id)
    assert {r["s"] for r in logged} == {t.isoformat() for t in fired}
    assert len({i.intent_id for i in fakes.intents}) == len(fakes.intents) == 2 * len(back)


async def _seen(pool, dep_id, start) -> bool:
    got = await pool.fetchval("SELECT last_bar_start FROM deployments WHERE id = $1::uuid", dep_id)
    return got is not None and got >= start


async def _all_consumed(pool, fakes) -> bool:
    return await pool.fetchval("SELECT count(*) FROM intents") == len(fakes.intents)


async def _settled(pool, dep_id) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM intents WHERE deployment_id = $1::uuid"
                                   " AND status <> 'filled'", dep_id)

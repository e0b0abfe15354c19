"""The execution benchmark's scenarios: their deployments, open trades and bars (`run.py`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from contracts.events.marketdata import Bar

DAY = datetime(2025, 7, 24, 3, 45, tzinfo=UTC)
STOPS = (9_850, 9_800, 9_750, 9_700, 9_650)
TICK_STEP = 5  # paise between the stops of an instrument's deployments (ticks scenario)
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "ohlc"
STOCKS = ("RELIANCE", "TCS", "ICICIBANK", "BHARTIARTL", "BAJAJ-AUTO")
WARMUP, MEASURED = 45, 60


async def seed(pool, n: int, n_instr: int, scenario: str) -> None:
    """Write the deployments of a scenario (and the open trades of burst and ticks)."""
    rows, trades = [], []
    for i in range(n):
        dep = uuid.uuid4()
        sma = 5 + i // 50 % 20
        entry, exit_ = (f"close crosses above sma({sma})", f"close crosses below sma({sma})") \
            if scenario == "session" else ("close crosses above 101", "close < 0") \
            if scenario == "ticks" else ("close crosses above 100", "close < 0")
        rows.append((dep, f"user{i % 100}", f"s{i}", f"acct{i}", str(1000 + i % n_instr),
                     entry, exit_))
        # burst: five positions, stops 98.50 .. 96.50; ticks: one, its stop 5 paise below the
        # one of the instrument's previous deployment
        stops = STOPS if scenario == "burst" else \
            (10_000 - TICK_STEP * (1 + i // n_instr),) if scenario == "ticks" else ()
        trades += [(f"t{i}-{k}", dep, f"user{i % 100}", f"s{i}", f"acct{i}",
                    str(1000 + i % n_instr), stop) for k, stop in enumerate(stops)]
    # one transaction: the engine claims deployments as soon as they are visible, and one
    # claimed before its trades were written would run without them
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO deployments (id, user_id, strategy_id, strategy_version,"
            " strategy_version_id, name, account_id, broker, segment, security_id, symbol,"
            " timeframe, entry_rule, exit_rule, direction, product, quantity, max_positions,"
            " status, deployed_at) VALUES ($1, $2, $3, 1, 'v1', 'bench', $4, 'paper', 'NSE_EQ',"
            " $5, 'X', '1m', $6, $7, 'long', 'INTRADAY', 1, 100000, 'active', now())", rows)
        if trades:
            await conn.executemany(
                "INSERT INTO trades (id, deployment_id, user_id, strategy_id, account_id,"
                " segment, security_id, symbol, direction, quantity, entry_intent_id,"
                " entry_price_paise, entry_time, stop_paise, status) VALUES ($1, $2, $3, $4,"
                " $5, 'NSE_EQ', $6, 'X', 'long', 1, $1, 10000, now(), $7, 'open')", trades)


def bar_at(sid: str, minute: int, price: float) -> Bar:
    """Return a flat 1-minute bar of the burst scenario at `price` rupees."""
    start = DAY + timedelta(minutes=minute)
    p = int(price * 100)
    return Bar(event_id=f"b{sid}-{minute}", ts_event=start, ts_init=start, interval="1m",
               segment="NSE_EQ", security_id=sid, start=start, end=start + timedelta(minutes=1),
               open=p, high=p + 10, low=p - 10, close=p)


def session_bars(n_instr: int) -> dict[str, list[Bar]]:
    """Return each instrument's bars for the session scenario (real 1-minute NSE bars)."""
    out = {}
    frames = {name: pl.read_parquet(DATA / f"NSE_EQ-{name}-1m.parquet") for name in STOCKS}
    for k in range(n_instr):
        df = frames[STOCKS[k % len(STOCKS)]]
        day = df["ts"].dt.date().unique().sort()[k // len(STOCKS)]
        rows = df.filter(pl.col("ts").dt.date() == day).head(WARMUP + MEASURED).rows(named=True)
        sid = str(1000 + k)
        out[sid] = [Bar(event_id=f"b{sid}-{j}", ts_event=r["ts"], ts_init=r["ts"], interval="1m",
                        segment="NSE_EQ", security_id=sid, start=r["ts"].astimezone(UTC),
                        end=(r["ts"] + timedelta(minutes=1)).astimezone(UTC),
                        open=round(r["open"] * 100), high=round(r["high"] * 100),
                        low=round(r["low"] * 100), close=round(r["close"] * 100),
                        volume=int(r["volume"]))
                    for j, r in enumerate(rows)]
    return out

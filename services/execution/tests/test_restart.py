"""Reliability: kill -9 mid-session, restart elsewhere, nothing lost or doubled; mismatch halts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

from contracts import execution as ex
from execution.app import build_app

from .conftest import DAY, call, make_bar, make_settings, publish_bar, until
from .fakes import strategy

RULES = dict(entry_rule="close > 0", exit_rule="close >= 101", max_positions=2)


def _price(i: int) -> float:
    return 100 + (i % 5) * 0.3


def _spawn(nats_url: str, dsn: str, instance: str) -> subprocess.Popen:
    env = {**os.environ, "EXECUTION_NATS_URL": nats_url, "EXECUTION_DATABASE_URL": dsn,
           "EXECUTION_INSTANCE_ID": instance, "EXECUTION_HEARTBEAT_S": "0.2",
           "EXECUTION_LEASE_TTL_S": "1", "EXECUTION_STALE_BAR_S": "1e9",
           "EXECUTION_USE_CALENDAR": "false", "EXECUTION_SQUARE_OFF_TIME": "23:59",
           "EXECUTION_ENTRY_CUTOFF_TIME": "23:59", "EXECUTION_LOG_LEVEL": "WARNING",
           "EXECUTION_ENVIRONMENT": "test"}
    return subprocess.Popen([sys.executable, "-m", "execution"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _last_bar(pool, dep_id):
    return await pool.fetchval("SELECT last_bar_start FROM deployments WHERE id = $1::uuid", dep_id)


async def test_kill_9_mid_session_loses_and_doubles_nothing(nats_url, dsn, nc, fakes, pg_dsn):
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2,
                                     server_settings={"search_path": "execution"})
    first = _spawn(nats_url, dsn, "proc-1")
    second = None
    try:
        fakes.strategies[("u1", "s1")] = strategy("u1", **RULES)
        fakes.add_account("u1", "a1")
        status, dep = await until(lambda: _try_deploy(nc), timeout=30, what="service up")
        dep_id = dep["id"]
        await until(lambda: _last_bar_is_set_or_owned(pool, dep_id), timeout=15, what="running")
        js = nc.jetstream()
        bars = [make_bar(DAY + timedelta(minutes=i), _price(i), _price(i) + 0.1,
                         _price(i) - 0.1, _price(i)) for i in range(30)]
        for i in range(10):  # calm trading, one bar at a time
            await publish_bar(js, bars[i])
            await until(lambda: _seen(pool, dep_id, bars[i].start), what=f"bar {i}")
            await until(lambda: _consumed(pool, fakes), what="intents at the broker")
            await until(lambda: _fill_until_settled(pool, fakes, dep_id, bars[i]), what="fills")
        for i in range(10, 20):  # a burst, killed in the middle of it
            await publish_bar(js, bars[i])
        await until(lambda: _seen(pool, dep_id, bars[12].start), what="burst under way")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        for i in range(20, 25):  # the market goes on while execution is down
            await publish_bar(js, bars[i])
        await fakes.fill_pending(bars[24].close, bars[24].end)
        second = _spawn(nats_url, dsn, "proc-2")  # another replica takes over after the lease
        # intents the killed process committed but never sent arrive now (outbox): fill them too
        await until(lambda: _fill_then_seen(pool, fakes, dep_id, bars[24]), timeout=30,
                    what="caught up")
        for i in range(25, 30):
            await until(lambda: _consumed(pool, fakes), what="intents at the broker")
            await until(lambda: _fill_until_settled(pool, fakes, dep_id, bars[i - 1]),
                        what="fills")
            await publish_bar(js, bars[i])
            await until(lambda: _seen(pool, dep_id, bars[i].start), what=f"bar {i}")
        await until(lambda: _consumed(pool, fakes), what="last intents")

        ids = [i.intent_id for i in fakes.intents]
        assert len(ids) == len(set(ids)), "an intent reached the broker twice"
        assert set(ids) == {r["intent_id"] for r in await pool.fetch("SELECT intent_id FROM intents")}
        # no decision was made twice: each bar has one entry, each intent one log row, and
        # no position was sold twice (an exit that waited for its entry's fill is a second
        # exit intent of that bar, for another trade)
        dupes = await pool.fetch("SELECT bar->>'start', count(*) FROM exec_logs WHERE bar IS NOT"
                                 " NULL AND action = 'entry' GROUP BY 1 HAVING count(*) > 1")
        assert dupes == []
        assert await pool.fetch("SELECT intent_id, count(*) FROM exec_logs WHERE intent_id IS"
                                " NOT NULL GROUP BY 1 HAVING count(*) > 1") == []
        assert await pool.fetch(
            "SELECT t.id, count(*) FROM intents i, jsonb_array_elements_text(i.trade_ids) AS t(id)"
            " WHERE i.action <> 'entry' GROUP BY 1 HAVING count(*) > 1") == []
        entry_bars = {r["s"] for r in await pool.fetch(
            "SELECT bar->>'start' AS s FROM exec_logs WHERE action = 'entry'")}
        assert entry_bars == {b.start.isoformat() for i, b in enumerate(bars) if i % 5 != 4}
        assert await pool.fetchval("SELECT owner FROM deployments WHERE id = $1::uuid", dep_id) \
            == "proc-2"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        await pool.close()


async def test_a_position_mismatch_halts_instead_of_inventing_a_fill(nats_url, dsn, nc, fakes,
                                                                     clock):
    settings = make_settings(nats_url, dsn)
    fakes.strategies[("u1", "s1")] = strategy("u1", **RULES)
    fakes.add_account("u1", "a1")
    async with build_app(settings, clock=clock) as rt:
        status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "s1", "accountId": "a1"},
                                 "u1")
        await until(lambda: dep["id"] in rt.engine.runners, what="runner")
        bar = make_bar(DAY, 100, 100.1, 99.9, 100)
        await publish_bar(nc.jetstream(), bar)
        await until(lambda: fakes.pending, what="entry intent")
        await fakes.fill_pending(10_000, bar.end)
        await until(lambda: _settled(rt.pool, dep["id"]), what="fill")
    fakes.positions[("a1", "2885")] += 7  # someone traded behind the platform's back
    async with build_app(settings, clock=clock) as rt:
        await until(lambda: _status(rt.pool, dep["id"], "halted"), what="halt")
        row = await rt.pool.fetchrow("SELECT error_message FROM deployments WHERE id = $1::uuid",
                                     dep["id"])
        assert "broker holds 8" in row["error_message"] and "expect 1" in row["error_message"]
        assert await rt.pool.fetchval("SELECT count(*) FROM intents") == 1


async def _try_deploy(nc):
    try:
        status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "s1", "accountId": "a1"},
                                 "u1")
    except Exception:
        return None
    return (status, dep) if status == 200 else None


async def _last_bar_is_set_or_owned(pool, dep_id):
    return await pool.fetchval("SELECT state IS NOT NULL AND owner IS NOT NULL FROM deployments"
                               " WHERE id = $1::uuid", dep_id)


async def _seen(pool, dep_id, start):
    got = await _last_bar(pool, dep_id)
    return got is not None and got >= start


async def _fill_then_seen(pool, fakes, dep_id, bar):
    if fakes.pending:
        await fakes.fill_pending(bar.close, bar.end)
    return await _seen(pool, dep_id, bar.start)


async def _fill_until_settled(pool, fakes, dep_id, bar):
    """Fill what the broker holds until every intent is filled: a fill can itself bring a
    new intent (an exit that waited for its entry's fill)."""
    if fakes.pending:
        await fakes.fill_pending(bar.close, bar.end)
    return await _consumed(pool, fakes) and await _settled(pool, dep_id)


async def _consumed(pool, fakes):
    return await pool.fetchval("SELECT count(*) FROM intents") == len(fakes.intents)


async def _settled(pool, dep_id):
    return not await pool.fetchval("SELECT count(*) FROM intents WHERE deployment_id = $1::uuid"
                                   " AND status = 'sent'", dep_id)


async def _status(pool, dep_id, want):
    return await pool.fetchval("SELECT status FROM deployments WHERE id = $1::uuid", dep_id) == want


SMA = dict(entry_rule="close crosses above sma(close, 3)",
           exit_rule="close crosses below sma(close, 3)", max_positions=50)
# quiet for a while (the stored state falls behind), then crossings right after the restart
# that only a state holding the last bars before it gets right
PATH = [100, 100.5, 101, 101.5, 102, 101, 100, 99.5, 99, 98.5, 98, 97.5, 99.2, 97, 99.8, 98,
        100.5, 99, 101]
RESTART_AT = 12


def _reference(prices: list[float], skip: range = range(0)) -> list[int]:
    """Bars where the deployment must enter (the engine's order: no entry when exit fires),
    optionally with some bars never seen by the evaluators (what a lost state would do)."""
    from strategy import parse
    from strategy.incremental import Evaluator

    entry, exit_ = Evaluator(parse(SMA["entry_rule"])), Evaluator(parse(SMA["exit_rule"]))
    out = []
    for i, p in enumerate(prices):
        if i in skip:
            continue
        view = {"ts": DAY + timedelta(minutes=i), "open": p, "high": p, "low": p, "close": p,
                "volume": 0}
        fire, leave = entry.update(view), exit_.update(view)
        if fire and not leave:
            out.append(i)
    return out


async def test_a_restart_replays_the_bars_after_the_stored_state(nats_url, dsn, nc, fakes,
                                                                 clock):
    """The evaluator state is stored every few bars; after a restart the bars since are
    replayed from MD_BARS, so the signals are those of a run that never stopped."""
    settings = make_settings(nats_url, dsn, state_every_bars=1000, reconcile=False,
                             square_off_time="23:59", entry_cutoff_time="23:59")
    fakes.strategies[("u1", "s1")] = strategy("u1", **SMA)
    fakes.add_account("u1", "a1")
    js = nc.jetstream()
    bars = [make_bar(DAY + timedelta(minutes=i), p, p, p, p) for i, p in enumerate(PATH)]
    async with build_app(settings, clock=clock) as rt:
        status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "s1", "accountId": "a1"},
                                 "u1")
        assert status == 200, dep
        await until(lambda: dep["id"] in rt.engine.runners, what="runner")
        for bar in bars[:RESTART_AT]:
            await publish_bar(js, bar)
            await until(lambda b=bar: _seen(rt.pool, dep["id"], b.start), what="bar")
        row = await rt.pool.fetchrow(
            "SELECT state_seq, last_bar_seq, (state->'entry'->>'last_ts')::timestamptz AS at"
            " FROM deployments WHERE id = $1::uuid", dep["id"])
        stored = int((row["at"] - DAY).total_seconds() // 60)  # the last bar the state holds
        assert row["state_seq"] < row["last_bar_seq"] and stored < RESTART_AT - 3
    async with build_app(settings, clock=clock) as rt:
        await until(lambda: dep["id"] in rt.engine.runners, what="runner again")
        for bar in bars[RESTART_AT:]:
            await publish_bar(js, bar)
            await until(lambda b=bar: _seen(rt.pool, dep["id"], b.start), what="bar")
        entries = sorted(int((r["start"] - DAY).total_seconds() // 60) for r in await rt.pool.fetch(
            "SELECT (bar->>'start')::timestamptz AS start FROM exec_logs WHERE action = 'entry'"))
    assert entries == _reference(PATH)
    # and the path is one where a state missing the last bars before the restart errs
    assert _reference(PATH, skip=range(stored + 1, RESTART_AT)) != entries


async def test_a_state_the_bar_stream_cannot_bring_up_to_date_halts(nats_url, dsn, nc, fakes,
                                                                     clock):
    settings = make_settings(nats_url, dsn, state_every_bars=1000, reconcile=False,
                             square_off_time="23:59", entry_cutoff_time="23:59")
    fakes.strategies[("u1", "s1")] = strategy("u1", **SMA)
    fakes.add_account("u1", "a1")
    js = nc.jetstream()
    async with build_app(settings, clock=clock) as rt:
        status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "s1", "accountId": "a1"},
                                 "u1")
        await until(lambda: dep["id"] in rt.engine.runners, what="runner")
        for i, p in enumerate(PATH[:8]):
            bar = make_bar(DAY + timedelta(minutes=i), p, p, p, p)
            await publish_bar(js, bar)
            await until(lambda b=bar: _seen(rt.pool, dep["id"], b.start), what="bar")
    await js.purge_stream("MD_BARS")  # the bars after the stored state are gone
    async with build_app(settings, clock=clock) as rt:
        await until(lambda: _status(rt.pool, dep["id"], "halted"), what="halt")
        reason = await rt.pool.fetchval("SELECT error_message FROM deployments WHERE id = $1::uuid",
                                        dep["id"])
        assert "could not be rebuilt" in reason and dep["id"] not in rt.engine.runners

"""Pure rules: risk checks, levels, fill arithmetic, pacing, and the runner's decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from execution import domain as d
from execution.runner import Context, Runner, TradeState

from .conftest import make_bar

T0 = datetime(2025, 7, 24, 3, 45, tzinfo=UTC)  # 09:15 IST


def _row(**kw) -> dict:
    base = dict(id="dep-1", user_id="u", strategy_id="s", account_id="a", segment="NSE_EQ",
                security_id="1", symbol="X", direction="long", product="INTRADAY",
                quantity=1, lot_size=1, max_positions=1, max_quantity=None,
                max_notional_paise=None, daily_loss_limit_paise=None,
                account_daily_loss_limit_paise=None, status="active", entries_paused=None,
                entry_rule="close > 0", exit_rule="close < 0", stop_loss_pct=None,
                target_pct=None, last_bar_start=None, last_price_paise=None, state=None)
    base.update(kw)
    return base


def _runner(**kw) -> Runner:
    return Runner(_row(**kw), "15:15", "15:15")


def _bar(minute: int, price: float = 100.0):
    return make_bar(T0 + timedelta(minutes=minute), price, price + 1, price - 1, price)


def _reasons(runner: Runner, bar, ctx: Context | None = None) -> list[str]:
    out = runner.on_bar(bar, ctx or Context())
    entry = [x for x in out if x.action == d.ENTRY]
    return [r.split(":")[0] for r in entry[0].reasons]


def test_an_allowed_entry_gets_a_deterministic_intent():
    r = _runner()
    (dec,) = r.on_bar(_bar(0), Context())
    assert dec.kind == "signal" and dec.side == "BUY" and dec.quantity == 1
    assert dec.intent_id == d.intent_id("dep-1", T0, d.ENTRY)
    assert dec.values["close > 0"] is True


def test_every_risk_check_refuses_with_its_reason():
    r = _runner()
    r.on_bar(_bar(0), Context())
    assert _reasons(r, _bar(1)) == [d.R_MAX_POSITIONS]
    assert _reasons(_runner(status="paused"), _bar(0)) == [d.R_PAUSED]
    assert _reasons(_runner(), _bar(0), Context(market_open=False)) == [d.R_MARKET_CLOSED]
    assert _reasons(_runner(), _bar(359)) == [d.R_ENTRY_CUTOFF]  # 15:14 bar ends at 15:15
    assert _reasons(_runner(), _bar(0), Context(stale_feed="no bar")) == [d.R_STALE_FEED]
    assert _reasons(_runner(max_quantity=0, quantity=1), _bar(0)) == [d.R_POSITION_SIZE]
    assert _reasons(_runner(max_notional_paise=5_000), _bar(0)) == [d.R_MAX_NOTIONAL]
    lossy = _runner(daily_loss_limit_paise=1_000)
    lossy.realized_today = -1_000
    assert _reasons(lossy, _bar(0)) == [d.R_DAILY_LOSS]
    assert _reasons(_runner(account_daily_loss_limit_paise=500), _bar(0),
                    Context(account_day_pnl=-600)) == [d.R_ACCOUNT_LOSS]
    assert _reasons(_runner(), _bar(0), Context(pacer_ok=lambda a: False)) == [d.R_PACING]


def test_a_bar_already_seen_is_skipped():
    r = _runner()
    r.on_bar(_bar(0), Context())
    assert r.on_bar(_bar(0), Context()) is None


def test_stop_and_target_on_ticks_and_bars():
    r = _runner(direction="long")
    r.trades["t1"] = TradeState(id="t1", entry_intent_id="t1", status="open", quantity=2,
                                entry_price=10_000, stop=9_800, target=10_400)
    assert r.on_tick(9_900, T0) == []
    (dec,) = r.on_tick(9_790, T0)
    assert (dec.action, dec.side, dec.quantity) == (d.STOP_LOSS, "SELL", 2)
    assert r.on_tick(9_700, T0) == []  # already exiting: no second order
    s = _runner(direction="short")
    s.trades["t2"] = TradeState(id="t2", entry_intent_id="t2", status="open", quantity=1,
                                entry_price=10_000, stop=10_200, target=9_600)
    out = s.on_bar(make_bar(T0, 99, 99.5, 95, 98), Context())
    assert [x.action for x in out][0] == d.TARGET


def test_square_off_once_per_day():
    r = _runner()
    r.trades["t"] = TradeState(id="t", entry_intent_id="t", status="open", quantity=1,
                               entry_price=10_000)
    assert r.square_off_now(T0) == []
    at = T0 + timedelta(hours=6)  # 15:15 IST
    (dec,) = r.square_off_now(at)
    assert dec.intent_id == d.intent_id("dep-1", "2025-07-24", d.SQUARE_OFF)
    assert r.square_off_now(at + timedelta(seconds=1)) == []


def test_snapshot_restores_the_evaluators():
    a = _runner(entry_rule="close crosses above sma(3)")
    for i in range(5):
        a.on_bar(_bar(i, 100 + i % 2), Context())
    b = Runner(_row(entry_rule="close crosses above sma(3)", state=a.snapshot()), "15:15", "15:15")
    assert b.entry.values() == a.entry.values()


def test_levels_fill_increments_and_pnl():
    assert d.levels("long", 10_000, Decimal(2), Decimal(4)) == (9_800, 10_400)
    assert d.levels("short", 10_000, Decimal(2), None) == (10_200, None)
    assert d.fill_increment(0, None, 5, 100, 5, 100) == (5, 100)
    assert d.fill_increment(5, 100, 10, 110, 0, None) == (5, 120)
    assert d.fill_increment(10, 110, 10, 110, 0, None) == (0, None)
    assert d.pnl("short", 2, 10_000, 9_000) == 2_000


def test_pacer_keeps_under_the_rate():
    p = d.Pacer(3)
    assert [p.allow("a", 0.1 * i) for i in range(4)] == [True, True, True, False]
    assert p.allow("b", 0.35)
    assert p.allow("a", 1.05)


def test_an_exit_while_the_entry_is_unfilled_goes_out_when_it_fills():
    """Found by the live-chain parity test: a broker that confirms a fill after the next
    bar would otherwise hold the position to the square-off, where the backtest exits."""
    r = _runner(entry_rule="close > 100", exit_rule="close < 100")
    (entry,) = r.on_bar(_bar(0, 101), Context())
    assert r.trades[entry.intent_id].status == "pending"
    # the exit rule fires before the entry's fill is known: nothing to sell yet
    assert r.on_bar(_bar(1, 99), Context()) == []
    assert r.exits_due() == []  # still unfilled
    t = r.trades[entry.intent_id]
    t.status, t.quantity, t.entry_price = "open", 1, 10_100
    (exit_,) = r.exits_due()
    assert (exit_.action, exit_.side, exit_.quantity, exit_.trade_ids) == \
        (d.EXIT, "SELL", 1, [entry.intent_id])
    assert exit_.bar.start == T0 + timedelta(minutes=1)  # the bar the rule fired on
    assert exit_.intent_id == d.intent_id("dep-1", entry.intent_id, d.EXIT)
    assert r.exits_due() == []  # once


async def test_idle_waits_for_the_urgent_work_to_settle():
    """Deferred work (events, marks, the quiet bar record) runs once nothing urgent has gone
    on for the settle time, and never waits longer than its bound."""
    import asyncio
    import time

    from execution.ledger import Idle

    idle = Idle(settle_s=0.05, max_wait_s=0.5)
    started = time.monotonic()
    await idle.wait()  # nothing happened: at once
    assert time.monotonic() - started < 0.03

    async def decide(for_s: float) -> None:
        with idle.urgent():
            await asyncio.sleep(for_s)

    task = asyncio.create_task(decide(0.15))
    await asyncio.sleep(0)
    started = time.monotonic()
    await idle.wait()
    waited = time.monotonic() - started
    assert task.done() and 0.19 <= waited < 0.45, waited  # 0.15 busy + 0.05 settled (< bound)

    with idle.urgent():  # decisions that never stop: the bound holds
        started = time.monotonic()
        await idle.wait()
        assert 0.5 <= time.monotonic() - started < 2.0


async def test_instruments_decided_while_postgres_is_busy_share_the_next_commit():
    """One commit runs; the instruments decided meanwhile go together in the next one, which
    starts as that one returns; each caller returns once its decisions are committed."""
    import asyncio

    from execution.batching import GroupCommit

    calls: list[tuple[list, list]] = []
    gate = asyncio.Event()

    async def commit(decided, advances):
        calls.append((decided, advances))
        if len(calls) == 1:
            await gate.wait()  # Postgres is busy with the first
        if "boom" in decided:
            raise RuntimeError("lost the connection")

    group = GroupCommit(commit, 1)
    first = asyncio.create_task(group.submit(["a"], ["adv-a"]))
    await asyncio.sleep(0)
    later = [asyncio.create_task(group.submit([x], [f"adv-{x}"])) for x in "bc"]
    await asyncio.sleep(0.01)
    assert calls == [(["a"], ["adv-a"])] and not any(t.done() for t in later)
    gate.set()
    await asyncio.gather(first, *later)
    assert calls[1] == (["b", "c"], ["adv-b", "adv-c"])

    gate.clear()  # a failed commit fails every caller of it, and the next one still runs
    calls.clear()
    blocked = asyncio.create_task(group.submit(["d"], []))
    await asyncio.sleep(0)
    failing = [asyncio.create_task(group.submit([x], [])) for x in ("boom", "e")]
    await asyncio.sleep(0)
    gate.set()
    await blocked
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    await group.submit(["f"], [])
    assert calls[-1] == (["f"], [])

    calls.clear()  # 0: every instrument commits on its own, at once
    alone = GroupCommit(commit, 0)
    calls.append(("already", "one"))  # not the first call: nothing blocks
    await asyncio.gather(alone.submit(["x"], []), alone.submit(["y"], []))
    assert calls[1:] == [(["x"], []), (["y"], [])]


def test_tick_decisions_are_chunked_without_splitting_a_deployment():
    from execution.batching import chunked

    a, b, c = object(), object(), object()
    decided = [(a, 1), (a, 2), (a, 3), (b, 1), (c, 1), (c, 2)]
    assert chunked(decided, 2) == [[(a, 1), (a, 2), (a, 3)], [(b, 1), (c, 1), (c, 2)]]
    assert chunked(decided, 32) == [decided]
    assert chunked([], 32) == [[]]


async def test_turns_let_the_loop_read_its_sockets_between_two_instruments():
    """All bars of a minute are ready at once; between two instruments' evaluations the loop
    reads what arrived (a commit's reply), so its intents need not wait for every instrument."""
    import asyncio
    import socket

    from execution.ledger import Turns

    loop = asyncio.get_running_loop()
    order: list[str] = []
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    loop.add_reader(ours, lambda: (ours.recv(64), order.append("reply")))

    async def instrument(name: str, turns: Turns) -> None:
        async with turns.turn():
            order.append(name)
            if name == "a":  # its commit is answered while b waits
                theirs.send(b"x")

    try:
        for _ in range(2):
            order.clear()
            await asyncio.gather(*(instrument(n, Turns()) for n in "abc"))  # one each
            assert order[:2] == ["a", "b"]  # without turns: b evaluates before the reply
            while "reply" not in order:
                await asyncio.sleep(0)
        order.clear()
        turns = Turns()
        await asyncio.gather(*(instrument(n, turns) for n in "abc"))
        assert order == ["a", "reply", "b", "c"]
    finally:
        loop.remove_reader(ours)
        ours.close()
        theirs.close()


def test_message_ids_are_the_ones_uuid_and_svckit_derive():
    """Faster id arithmetic, same ids: a replay after an upgrade must find its rows."""
    import uuid

    from execution import ledger

    ns = uuid.UUID("6f1c2a4e-9a51-4d0a-9b1e-3c2f5e7d8a90")
    for parts in [("iabc", "intent"), ("dep", "2025-07-24T04:00:00+00:00", "entry", "refused"),
                  ("t-1", "closed"), ("ünï", 5)]:
        assert ledger.stable_id(*parts) == str(uuid.uuid5(ns, "|".join(map(str, parts))))
    event = ledger.stable_id("x")
    for msg_id in [event, event.upper(), "{" + event + "}", "iz5yqealzw6onkdqgj4apnq2y",
                   "not-a-uuid-at-all-but-36-chars-long!", "a" * 36]:
        try:
            want = uuid.UUID(msg_id)
        except ValueError:
            want = uuid.uuid5(uuid.NAMESPACE_URL, msg_id)
        assert ledger.outbox_row_id(msg_id) == str(want)

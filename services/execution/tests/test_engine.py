"""The engine end to end: refusals logged and published, stops on ticks, kill switch, stale feed."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import orjson
from contracts import execution as ex
from contracts import subjects
from contracts.events.base import encode
from contracts.events.marketdata import FeedStale, Tick

from .conftest import DAY, call, make_bar, publish_bar, until
from .fakes import strategy

ALWAYS = dict(entry_rule="close > 0", exit_rule="close < 0")


class Seen:
    """User events seen on core NATS."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def of(self, suffix: str) -> list[dict]:
        """Return events whose subject ends with `suffix`."""
        return [d for s, d in self.items if s.endswith(suffix)]


async def _events(nc) -> Seen:
    seen = Seen()

    async def on(msg):
        seen.items.append((msg.subject, orjson.loads(msg.data)))

    await nc.subscribe("evt.>", cb=on)
    await nc.flush()
    return seen


async def _deploy(app, nc, fakes, sid="s1", account="a1", **kw) -> str:
    fakes.strategies[("u1", sid)] = strategy("u1", sid=sid, **{**ALWAYS, **kw})
    fakes.add_account("u1", account)
    status, dep = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": sid, "accountId": account}, "u1")
    assert status == 200, dep
    await until(lambda: dep["id"] in app.engine.runners, what="runner")
    return dep["id"]


async def _bar(app, nc, clock, dep_ids, minute, price=100.0):
    bar = make_bar(DAY + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price)
    clock.set(bar.end)
    await publish_bar(nc.jetstream(), bar)

    async def seen():
        rows = await app.pool.fetch("SELECT last_bar_start FROM deployments WHERE id = ANY($1::uuid[])",
                                    dep_ids)
        return all(r["last_bar_start"] is not None and r["last_bar_start"] >= bar.start for r in rows)

    await until(seen, what="bar processed")
    return bar


async def _deploy_on(nc, fakes, sec: str, sid: str, account: str, **body) -> str:
    """Deploy an always-entering strategy on instrument `sec` (any replica may take it)."""
    from contracts import backtest as bt

    fakes.strategies[("u1", sid)] = strategy(
        "u1", sid=sid, max_positions=50, **ALWAYS,
        instrument=bt.StrategyInstrument(segment="NSE_EQ", security_id=sec, symbol=f"X{sec}"))
    fakes.add_account("u1", account)
    status, dep = await call(nc, ex.CREATE_DEPLOYMENT,
                             {"strategyId": sid, "accountId": account, **body}, "u1")
    assert status == 200, dep
    return dep["id"]


async def _leases(app, n: int) -> bool:
    return await app.pool.fetchval("SELECT count(*) FROM engine_leases") == n


async def _fill(app, fakes, price_paise, at, n):
    await until(lambda: len(fakes.pending) >= n, what=f"{n} intents at the broker")
    await fakes.fill_pending(price_paise, at)

    async def settled():
        return not await app.pool.fetchval("SELECT count(*) FROM intents WHERE status = 'sent'")

    await until(settled, what="fills applied")


async def test_refusals_are_logged_and_published(app, nc, fakes, clock):
    seen = await _events(nc)
    dep = await _deploy(app, nc, fakes)
    await _bar(app, nc, clock, [dep], 0)
    await _fill(app, fakes, 10_000, DAY + timedelta(minutes=1), 1)
    await _bar(app, nc, clock, [dep], 1)
    await _bar(app, nc, clock, [dep], 360 - 1)  # the 15:14 bar: square-off, and no new entry
    await until(lambda: len(seen.of("signal.refused")) >= 2, what="refusal events")
    reasons = [e["reasons"][0].split(":")[0] for e in seen.of("signal.refused")]
    assert reasons == ["max_positions", "entry_cutoff"] or reasons == ["max_positions", "max_positions"]
    status, logs = await call(nc, ex.DEPLOYMENT_LOGS, {"id": dep, "kind": "refusal"}, "u1")
    assert status == 200 and logs["total"] == 2
    assert all(item["reasons"] and item["bar"] and item["values"] for item in logs["items"])
    generated = seen.of("signal.generated")
    assert [g["action"] for g in generated] == ["entry", "square_off"]
    assert generated[0]["bar"]["close"] == 10_000 and generated[0]["values"]["close > 0"] is True


async def test_stop_loss_fires_on_a_tick_and_closes_the_trade(app, nc, fakes, clock):
    dep = await _deploy(app, nc, fakes, stop_loss_pct="1", max_positions=1)
    await _bar(app, nc, clock, [dep], 0)
    await _fill(app, fakes, 10_000, DAY + timedelta(minutes=1), 1)
    await until(lambda: any(t.stop for t in app.engine.runners[dep].trades.values()),
                what="stop level known")
    tick = Tick(event_id="t1", ts_event=DAY + timedelta(minutes=1, seconds=5),
                ts_init=DAY + timedelta(minutes=1, seconds=5), segment="NSE_EQ",
                security_id="2885", ltp=9_890, ltt=DAY + timedelta(minutes=1, seconds=5))
    await nc.publish(subjects.tick("NSE_EQ", "2885"), encode(tick))
    await _fill(app, fakes, 9_890, tick.ltt, 1)
    status, trades = await call(nc, ex.LIST_TRADES, {"deploymentId": dep}, "u1")
    (t,) = trades["items"]
    assert (t["status"], t["exitReason"], t["pnl"]) == ("closed", "stop_loss", "-1.10")
    status, got = await call(nc, ex.GET_DEPLOYMENT, {"id": dep}, "u1")
    assert got["stats"]["totalOrders"] == 2 and got["stats"]["realizedPnl"] == "-1.10"


async def test_stops_hit_by_the_ticks_of_one_read_are_committed_together(app, nc, fakes, clock):
    """The market moves: one read brings a tick of each instrument, each hitting a stop. Their
    exits go to Postgres in one commit (a commit each made the last exit wait behind all the
    others), and each trade closes as before."""
    from types import SimpleNamespace

    from contracts import backtest as bt

    instruments = ["21", "22", "23"]
    deps = []
    for sec in instruments:
        fakes.strategies[("u1", f"s{sec}")] = strategy(
            "u1", sid=f"s{sec}", stop_loss_pct="1", max_positions=1, **ALWAYS,
            instrument=bt.StrategyInstrument(segment="NSE_EQ", security_id=sec, symbol=f"X{sec}"))
        fakes.add_account("u1", f"a{sec}")
        status, dep = await call(nc, ex.CREATE_DEPLOYMENT,
                                 {"strategyId": f"s{sec}", "accountId": f"a{sec}"}, "u1")
        assert status == 200, dep
        deps.append(dep["id"])
    await until(lambda: all(d in app.engine.runners for d in deps), what="runners")
    for sec in instruments:
        bar = make_bar(DAY, 100.0, 100.5, 99.5, 100.0, sid=sec)
        clock.set(bar.end)
        await publish_bar(nc.jetstream(), bar)
    await _fill(app, fakes, 10_000, DAY + timedelta(minutes=1), 3)
    await until(lambda: all(any(t.stop for t in app.engine.runners[d].trades.values())
                            for d in deps), what="stop levels known")

    commits: list[list[str]] = []
    app.engine.on_commit.append(lambda decided: commits.append(sorted(r.id for r, _ in decided)))
    at = DAY + timedelta(minutes=1, seconds=5)
    groups = {g.key[2]: g for g in app.engine.groups.values()}
    ticks = [SimpleNamespace(data=encode(Tick(event_id=f"t{sec}", ts_event=at, ts_init=at,
                                              segment="NSE_EQ", security_id=sec, ltp=9_890,
                                              ltt=at))) for sec in instruments]
    # handled in one event-loop iteration, as the ticks of one read are
    await asyncio.gather(*(app.engine.on_tick(groups[sec], t)
                           for sec, t in zip(instruments, ticks, strict=True)))
    assert commits == [sorted(deps)]
    await _fill(app, fakes, 9_890, at, 3)
    for dep in deps:
        status, trades = await call(nc, ex.LIST_TRADES, {"deploymentId": dep}, "u1")
        assert [(t["status"], t["exitReason"]) for t in trades["items"]] == [("closed", "stop_loss")]


async def test_kill_switch_stops_flattens_and_switches_the_broker(app, nc, fakes, clock):
    deps = [await _deploy(app, nc, fakes, sid=s, account=s + "-acct") for s in ("s1", "s2")]
    await _bar(app, nc, clock, deps, 0)
    await _fill(app, fakes, 10_000, DAY + timedelta(minutes=1), 2)
    kill = asyncio.create_task(call(nc, ex.KILL_SWITCH, {"brokerKillSwitch": True}, "u1"))
    await _fill(app, fakes, 10_050, DAY + timedelta(minutes=1, seconds=30), 2)
    status, result = await kill
    assert status == 200, result
    assert (result["stoppedDeployments"], result["exitIntents"]) == (2, 2)
    assert sorted(fakes.killed) == ["s1-acct", "s2-acct"]
    await until(lambda: not app.engine.runners, what="runners dropped")
    assert all(q == 0 for q in fakes.positions.values())
    status, page = await call(nc, ex.LIST_DEPLOYMENTS, {}, "u1")
    assert {d["status"] for d in page["items"]} == {"stopped"}


async def test_stale_feed_pauses_entries_with_an_event(app, nc, fakes, clock):
    seen = await _events(nc)
    dep = await _deploy(app, nc, fakes)
    stale = FeedStale(event_id="x", ts_event=DAY, ts_init=DAY, segment="NSE_EQ",
                      security_id="2885", silent_s=45)
    await nc.publish(subjects.feed_status("stale"), encode(stale))
    await until(lambda: seen.of("deployment.entries_paused"), what="entries paused event")
    row = await app.pool.fetchrow("SELECT entries_paused FROM deployments WHERE id = $1::uuid", dep)
    assert "stale" in row["entries_paused"]
    await _bar(app, nc, clock, [dep], 0)  # a bar means the feed is back
    await until(lambda: seen.of("deployment.entries_resumed"), what="entries resumed event")


async def test_every_message_goes_out_once_and_at_once(app, nc, fakes, clock):
    """The engine publishes what it commits right away (the relay would wait out its grace
    of 5 s) and marks it sent, so the relay never sends a second copy that a core-NATS
    reader, like the gateway's WebSocket, would see."""
    seen = await _events(nc)
    intents: list[dict] = []

    async def on_intent(msg):
        intents.append(orjson.loads(msg.data))

    await nc.subscribe(subjects.order_intents_all(), cb=on_intent)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    dep = await _deploy(app, nc, fakes)
    await _bar(app, nc, clock, [dep], 0)
    await until(lambda: seen.of("signal.generated") and intents and seen.of("deployment.started"),
                timeout=3, what="events and intent from the engine itself")
    assert loop.time() - t0 < 4  # not the relay's doing: it leaves rows alone for 5 s
    await asyncio.sleep(1.5)  # a relay pass (once a second) would have sent its copies by now
    for suffix in ("signal.generated", "deployment.started"):
        assert len(seen.of(suffix)) == 1, suffix
    assert len(intents) == 1 and intents[0]["deploymentId"] == dep
    assert await app.pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    # what the relay would send after a crash: the same bytes under the same message id
    rows = await app.pool.fetch("SELECT subject, payload, headers::text AS headers FROM outbox"
                                " WHERE subject LIKE 'ord.intent.%' OR subject LIKE '%.signal.%'")
    assert sorted(r["subject"].split(".")[-1] for r in rows) == ["a1", "generated"]
    for r in rows:
        body, msg_id = orjson.loads(r["payload"]), orjson.loads(r["headers"])["Nats-Msg-Id"]
        if r["subject"].startswith("ord.intent."):
            assert body == intents[0] and msg_id == body["intentId"]
        else:
            assert body == seen.of("signal.generated")[0] and msg_id == body["eventId"]


async def test_the_intent_goes_out_before_the_events_of_its_decision(app, nc, fakes, clock):
    """The broker's intent is published as the commit returns; the signal event and the
    outbox marks wait until the engine has decided the bars still in front of it."""
    order: list[str] = []

    async def on(msg):
        order.append("intent" if msg.subject.startswith("ord.intent.") else msg.subject)

    await nc.subscribe(subjects.order_intents_all(), cb=on)
    await nc.subscribe("evt.*.signal.>", cb=on)
    await nc.flush()
    dep = await _deploy(app, nc, fakes)
    app.engine.idle.max_wait_s = 30  # the bound is not under test: a slow machine must not hit it
    with app.engine.idle.urgent():  # as if other instruments' bars were still being decided
        await _bar(app, nc, clock, [dep], 0)
        await until(lambda: order, what="the intent")
        await asyncio.sleep(0.2)
        assert order == ["intent"]
    await until(lambda: len(order) == 2, what="the signal event once idle")
    assert order[1].endswith(".signal.generated"), order
    await until(lambda: app.pool.fetchval(
        "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), what="rows marked sent")


async def test_the_previous_releases_commit_still_works_during_a_rolling_upgrade(app, nc, fakes):
    """Migration 0005 adds record_decisions' bytea[] form beside 0004's: a replica of the
    previous release, still running while the new one migrates, keeps committing."""
    dep = await _deploy(app, nc, fakes)
    doc = {"advance": [{"id": dep, "bar": "2030-01-01T04:00:00Z", "state": None,
                        "price": 12_345, "seq": None}],
           "intents": [], "trades": [], "exits": [], "logs": [{
               "deployment_id": dep, "user_id": "u1", "ts": "2030-01-01T04:01:00Z",
               "kind": "refusal", "action": "entry", "intent_id": None, "reasons": ["r"],
               "message": "entry refused: r", "bar": None, "values": {}}],
           "outbox": [{"id": "3f1c2a4e-9a51-4d0a-9b1e-3c2f5e7d8a91", "subject": "evt.u1.x.y",
                       "payload": '{"old": true}', "headers": {"Nats-Msg-Id": "m-old"},
                       "gate": None, "deployment_id": dep}]}
    rows = await app.pool.fetch(
        "SELECT out_kind, out_id FROM record_decisions($1, $2::uuid[], $3::text::jsonb)",
        app.engine.owner, [dep], orjson.dumps(doc).decode())
    assert [(r["out_kind"], r["out_id"]) for r in rows] == [("deployment", dep)]
    out = await app.pool.fetchrow("SELECT payload, headers::text AS h FROM outbox"
                                  " WHERE id = '3f1c2a4e-9a51-4d0a-9b1e-3c2f5e7d8a91'")
    assert orjson.loads(out["payload"]) == {"old": True}
    assert orjson.loads(out["h"]) == {"Nats-Msg-Id": "m-old"}
    assert await app.pool.fetchval("SELECT last_price_paise FROM deployments WHERE id = $1::uuid",
                                   dep) == 12_345


async def test_replicas_run_whole_instruments_and_a_newcomer_takes_its_share(
        app, nc, fakes, clock, nats_url, dsn):
    """An instrument's deployments run on one replica (one subscription, one evaluation per
    bar); a replica that joins gets half the instruments, and every bar still reaches every
    deployment once; a replica that stops hands its instruments back."""
    from execution.app import build_app

    from .conftest import make_settings

    async def deploy(sec: str, n: int) -> str:
        return await _deploy_on(nc, fakes, sec, f"s{sec}-{n}", f"a{sec}-{n}")

    async def owners() -> dict[str, set]:
        out: dict[str, set] = {}
        for r in await app.pool.fetch("SELECT security_id, owner FROM deployments"):
            out.setdefault(r["security_id"], set()).add(r["owner"])
        return out

    instruments = ["11", "12", "13", "14"]
    for sec in instruments:
        for n in range(2):
            await deploy(sec, n)
    await until(lambda: len(app.engine.runners) == 8, what="replica a runs all")

    async with build_app(make_settings(nats_url, dsn, "replica-b", rebalance_batch=1),
                         clock=clock) as b:
        async def halves():
            by = await owners()
            held = [o for s in by.values() for o in s]
            return (all(len(s) == 1 for s in by.values()) and held.count("replica-b") == 2
                    and len(b.engine.runners) == 4 and len(app.engine.runners) == 4)

        await until(halves, timeout=20, what="two whole instruments each")
        assert set(b.engine.groups).isdisjoint(app.engine.groups)

        # a new deployment of an instrument that b runs goes to b, even if a claims first
        sec_b = next(s for s, o in (await owners()).items() if o == {"replica-b"})
        app.engine.wake.set()
        new = await deploy(sec_b, 9)
        await until(lambda: new in b.engine.runners, what="b runs the newcomer")
        assert new not in app.engine.runners

        for k, sec in enumerate(instruments):
            price = 100.0 + k
            bar = make_bar(DAY + timedelta(minutes=1), price, price + 0.5, price - 0.5, price,
                           sid=sec)
            clock.set(bar.end)
            await publish_bar(nc.jetstream(), bar)
        await until(lambda: len(fakes.intents) >= 9, what="one entry per deployment")
        await asyncio.sleep(0.3)
        ids = [i.deployment_id for i in fakes.intents]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 9
        await _fill(app, fakes, bar.close, bar.end, 9)  # a deployment moves once settled

    # b stopped cleanly: a takes its instruments back
    await until(lambda: len(app.engine.runners) == 9, timeout=20, what="a runs all again")
    assert all(o == {"replica-a"} for o in (await owners()).values())


async def test_a_fill_reloads_positions_only_between_bars_of_the_instrument(app, nc, fakes):
    """Reloading a deployment's trades after a fill waits for the bar being decided: read
    before that bar's commit, the table would wipe the trade the bar just opened."""
    from execution import fills

    dep_id = await _deploy(app, nc, fakes)
    runner = app.engine.runners[dep_id]
    group = app.engine.group_of(runner)
    marker: dict = {}  # the bar's view of the trades (load_trades replaces the dict)
    async with group.lock:  # a bar of the instrument is being decided
        runner.trades = marker
        await app.pool.execute("SELECT pg_notify($1, $2)", fills.FILLS_CHANNEL, dep_id)
        await asyncio.sleep(0.5)
        assert runner.trades is marker
    await until(lambda: runner.trades is not marker, what="reloaded after the bar")


async def test_the_account_loss_limit_counts_the_accounts_deployments_on_other_replicas(
        app, nc, fakes, clock, nats_url, dsn):
    """Two deployments of one account on two instruments run on two replicas; the loss of
    one stops the other's entries (it was invisible across replicas)."""
    from execution.app import build_app

    from .conftest import make_settings

    async with build_app(make_settings(nats_url, dsn, "replica-b"), clock=clock) as b:
        engines = {"a": app.engine, "b": b.engine}
        await until(lambda: _leases(app, 2), what="both replicas announced")
        deps = {sec: await _deploy_on(nc, fakes, sec, f"s{sec}", "shared",
                                      accountDailyLossLimit="40")
                for sec in ("21", "22")}

        def where(dep_id: str) -> str | None:
            return next((n for n, e in engines.items() if dep_id in e.runners), None)

        await until(lambda: all(where(x) for x in deps.values()), what="both running")
        assert where(deps["21"]) != where(deps["22"])
        js = nc.jetstream()
        for sec in deps:
            await publish_bar(js, make_bar(DAY, 100, 100.5, 99.5, 100, sid=sec))
        await _fill(app, fakes, 10_000, DAY + timedelta(minutes=1), 2)

        clock.set(DAY + timedelta(minutes=2))
        await publish_bar(js, make_bar(DAY + timedelta(minutes=1), 50, 50.5, 49.5, 50, sid="22"))
        other = engines[where(deps["21"])]
        await until(lambda: other.account_pnl("shared") <= -5_000,
                    what="the other replica sees the 50 rupee loss")
        await publish_bar(js, make_bar(DAY + timedelta(minutes=1), 100, 100.5, 99.5, 100,
                                       sid="21"))

        async def refused():
            status, logs = await call(nc, ex.DEPLOYMENT_LOGS,
                                      {"id": deps["21"], "kind": "refusal"}, "u1")
            return status == 200 and any(
                r.startswith("account_daily_loss_limit") for item in logs["items"]
                for r in item["reasons"])

        await until(refused, what="the entry refused for the account's loss")
        assert len(fakes.pending) == 0  # no second entry went out


async def test_instruments_move_to_a_joining_replica_mid_session_without_a_missed_or_double_bar(
        app, nc, fakes, clock, nats_url, dsn):
    """Bars keep coming while a second replica joins and takes half the instruments: every
    deployment decides every bar exactly once, whichever replica ran it then."""
    from execution.app import build_app

    from .conftest import make_settings

    instruments = ["31", "32", "33", "34"]
    deps = {sec: await _deploy_on(nc, fakes, sec, f"m{sec}", f"acct{sec}") for sec in instruments}
    await until(lambda: len(app.engine.runners) == 4, what="replica a runs all four")

    stop = asyncio.Event()

    async def broker() -> None:  # fills every order at once, so handovers need not wait
        while not stop.is_set():
            await fakes.fill_pending(10_000, clock.now())
            await asyncio.sleep(0.02)

    filler = asyncio.create_task(broker())
    js = nc.jetstream()
    minutes = 16
    try:
        async with contextlib.AsyncExitStack() as stack:
            for m in range(minutes):
                if m == 4:  # replica b joins in the middle of the session
                    b = await stack.enter_async_context(build_app(
                        make_settings(nats_url, dsn, "replica-b", rebalance_batch=1),
                        clock=clock))
                clock.set(DAY + timedelta(minutes=m + 1))
                for sec in instruments:
                    await publish_bar(js, make_bar(DAY + timedelta(minutes=m), 100, 100.5,
                                                   99.5, 100, sid=sec))
                await asyncio.sleep(0.25)  # under the 9 orders/s pacing of each account

            last = DAY + timedelta(minutes=minutes - 1)

            async def all_seen() -> bool:
                rows = await app.pool.fetch("SELECT last_bar_start FROM deployments")
                return all(r["last_bar_start"] == last for r in rows)

            await until(all_seen, timeout=30, what="every bar decided")
            assert len(b.engine.runners) == 2 and len(app.engine.runners) == 2
    finally:
        stop.set()
        await filler
    rows = await app.pool.fetch("SELECT deployment_id, bar_start FROM intents")
    per = {}
    for r in rows:
        per.setdefault(str(r["deployment_id"]), []).append(r["bar_start"])
    want = [DAY + timedelta(minutes=m) for m in range(minutes)]
    for dep_id in deps.values():
        assert sorted(per.get(dep_id, [])) == want, dep_id
    sent = [i.intent_id for i in fakes.intents]
    assert len(sent) == len(set(sent)) == 4 * minutes

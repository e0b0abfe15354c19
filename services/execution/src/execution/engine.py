"""The engine: owns deployments (leases with heartbeats), feeds them bars and ticks, commits.

A replica heartbeats its lease (one row per replica), claims running deployments nobody holds
or whose holder's lease ran out, and drops those it lost; a dead replica's lease expires and
another replica claims its deployments. Every commit re-checks ownership in the same
transaction, so two replicas never both send an intent (and intent ids are deterministic
besides, so brokerage would refuse the second).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time as _time
from datetime import datetime

import msgspec
from contracts import subjects
from contracts.events.execution import DeploymentHalted, EntriesPaused, EntriesResumed
from contracts.events.marketdata import Bar, InstrumentFeedEvent, Tick
from nats.aio.msg import Msg
from svckit.logging import get_logger

from . import domain as d
from . import feeds, ledger
from . import repository as repo
from .batching import TICK_COMMIT_DECISIONS, GroupCommit, chunked
from .clients import Clients
from .ledger import Outgoing, deployment_event
from .runner import Context, Decision, Runner, read_bar
from .settings import ExecutionSettings
from .state import catch_up, load_trades, reconcile, warm_up

log = get_logger(__name__)
_bar_decoder = msgspec.json.Decoder(Bar)
_tick_decoder = msgspec.json.Decoder(Tick)


class Engine:
    """Runs the deployments this replica owns."""

    def __init__(self, rt, settings: ExecutionSettings, clients: Clients) -> None:
        self.pool, self.js, self.nc, self.clock = rt.pool, rt.js, rt.nc, rt.clock
        self.s = settings
        self.clients = clients
        self.owner = settings.instance_id
        self.runners: dict[str, Runner] = {}
        # account id -> its deployments running here: the account's daily loss check on every
        # entry would otherwise walk every deployment of the replica
        self.by_account: dict[str, dict[str, Runner]] = {}
        self.groups: dict[feeds.Key, feeds.Group] = {}
        self.pacer = d.Pacer(settings.order_rate_per_s)
        self.wake = asyncio.Event()
        self._open: dict[tuple[str, int], bool] = {}
        self._leased_at = 0.0
        self._announced = False  # the first ownership round only writes the lease
        # account id -> today's P&L of its deployments on other replicas (account loss limit)
        self.elsewhere: dict[str, int] = {}
        self._elsewhere_task: asyncio.Task | None = None
        self.on_commit: list = []  # test/bench hooks: callables(decisions)
        self._settled_at = _time.monotonic()
        self.idle = ledger.Idle()
        self.later = ledger.Deferred(self.js, self.pool, self.idle)
        self._quiet: list[tuple[list, asyncio.Future]] = []
        self._quiet_task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()  # tasks run unnamed; the loop's refs are weak
        self.turns = ledger.Turns()
        self.bar_commits = GroupCommit(self.commit, settings.commit_in_flight)
        self._ticked: list[tuple[Runner, Decision]] = []
        self._tick_commit: asyncio.Task | None = None

    # --- ownership ------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim, heartbeat and drop deployments until cancelled."""
        try:
            while True:
                try:
                    await self.tick_ownership()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("engine.ownership_failed")
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.s.heartbeat_s):
                        await self.wake.wait()
        finally:
            await self.shutdown()

    async def tick_ownership(self) -> None:
        """One round: heartbeat, drop lost deployments, claim free ones or hand back a surplus
        of instruments (another replica joined), renew feed leases.

        The first round only announces the replica (its lease), so that replicas started
        together count each other before they claim their shares."""
        surplus: list[repo.Instrument] = []
        async with self.pool.acquire() as conn:
            mine = await repo.heartbeat(conn, self.owner, self.s.lease_ttl_s)
            for dep_id in [i for i in self.runners if i not in mine]:
                await self.drop(dep_id)
            claimed: list[dict] = []
            if self._announced:
                claimed, surplus = await repo.claim(conn, self.owner, self.s.claim_batch,
                                                    self.s.lease_ttl_s, self.s.rebalance_batch)
            self._announced = True
        for key in surplus:
            await self.hand_back(key)
        replay: dict = {}  # bars fetched for this round's restarts, shared by instrument
        for row in claimed:
            try:
                await self.acquire(row, replay)
            except Exception:
                log.exception("engine.acquire_failed", deployment_id=str(row["id"]))
                await self.pool.execute("UPDATE deployments SET owner = NULL, updated_at = now()"
                                        " WHERE id = $1", row["id"])
        if claimed:
            self.settle_heap()
        if self.groups and _time.monotonic() - self._leased_at > self.s.md_lease_ttl_s / 3:
            self._leased_at = _time.monotonic()
            try:
                await self.clients.lease(self.owner, [(k[1], k[2]) for k in self.groups],
                                         self.s.md_lease_ttl_s)
            except Exception as exc:  # marketdata down: bars still flow for leased-by-others
                log.warning("engine.md_lease_failed", error=str(exc))
        try:
            await self.refresh_elsewhere()
        except Exception as exc:  # Postgres busy or away: the next round reads it again
            log.warning("engine.pnl_refresh_failed", error=str(exc))

    async def acquire(self, row: dict, replay: dict | None = None) -> None:
        """Start running one deployment: warm up or restore, reconcile, subscribe."""
        runner = Runner(row, self.s.square_off_time, self.s.entry_cutoff_time,
                        self.s.state_every_bars, self.s.state_max_age_s)
        await load_trades(self.pool, runner, self.clock.now())
        if row.get("state") is None:
            await warm_up(self, runner)
        else:
            problem = await catch_up(self, runner, replay) or await reconcile(self, runner)
            if problem == "wait":
                await self.pool.execute("UPDATE deployments SET owner = NULL, updated_at = now()"
                                        " WHERE id = $1::uuid", runner.id)
                return
            if problem:
                await self.halt(runner, problem)
                return
        key = (row["timeframe"], row["segment"], row["security_id"])
        group = self.groups.get(key) or feeds.Group(key)
        self.groups[key] = group
        async with group.lock:
            seq = await feeds.start_seq(self.js, group, runner)
            group.runners[runner.id] = runner
            self.runners[runner.id] = runner
            self.by_account.setdefault(runner.row["account_id"], {})[runner.id] = runner
            if group.bar_sub is None or (seq is not None and (group.next_seq is None or seq < group.next_seq)) \
                    or (seq is None and group.next_seq is not None):
                await feeds.subscribe_bars(self.js, group, seq, self.on_bar)
        await feeds.subscribe_ticks(self.nc, group, self.on_tick)
        log.info("deployment.running", deployment_id=runner.id)

    async def hand_back(self, key: repo.Instrument) -> None:
        """Give an instrument's deployments back for another replica to claim (rebalance).

        Under the instrument's lock, so no bar of it is half done; a commit of a tick after
        this finds the deployments no longer ours and writes nothing."""
        group = self.groups.get(key)
        if group is None:
            return
        async with group.lock:
            ids = list(group.runners)
            await repo.release(self.pool, self.owner, ids)
            for dep_id in ids:
                await self.drop(dep_id)
        log.info("engine.handed_back", security_id=key[2], deployments=len(ids))

    def group_of(self, runner: Runner) -> feeds.Group | None:
        """Return the instrument group a runner belongs to (None once dropped)."""
        return self.groups.get((runner.row["timeframe"], runner.row["segment"],
                                runner.row["security_id"]))

    async def drop(self, dep_id: str) -> None:
        """Stop running a deployment here (stopped, or another replica owns it now)."""
        runner = self.runners.pop(dep_id, None)
        if runner is None:
            return
        peers = self.by_account.get(runner.row["account_id"], {})
        peers.pop(dep_id, None)
        if not peers:
            self.by_account.pop(runner.row["account_id"], None)
        log.info("deployment.dropped", deployment_id=dep_id)
        group = self.group_of(runner)
        if group is not None:
            group.runners.pop(dep_id, None)
            if not group.runners:
                await feeds.close(group)
                self.groups.pop(group.key, None)

    async def shutdown(self) -> None:
        """Close every subscription and hand the deployments back."""
        if self._elsewhere_task is not None:
            self._elsewhere_task.cancel()
        for group in list(self.groups.values()):
            await feeds.close(group)
        with contextlib.suppress(Exception):
            await self.later.flush()
        self.groups.clear()
        self.runners.clear()
        self.by_account.clear()
        with contextlib.suppress(Exception):
            async with self.pool.acquire() as conn:
                await repo.release_all(conn, self.owner)

    async def halt(self, runner: Runner, reason: str) -> None:
        """Stop a deployment with an alert (never invent a fill)."""
        out = Outgoing()
        async with self.pool.acquire() as conn, conn.transaction():
            dep = await repo.set_status(conn, runner.id, "halted", at=self.clock.now(), error=reason)
            await repo.insert_logs(conn, [(runner.id, dep["user_id"], self.clock.now(), "halt",
                                           "halt", reason, "[]", None, None, None)])
            await deployment_event(conn, out, DeploymentHalted, dep, self.clock.now(), reason)
        await out.publish(self.js, self.pool)
        await self.drop(runner.id)
        log.warning("deployment.halted", deployment_id=runner.id, reason=reason)

    # --- bars and ticks -------------------------------------------------------------------

    async def on_bar(self, group: feeds.Group, msg: Msg) -> None:
        """Evaluate a closed bar for every deployment of its instrument and commit at once."""
        bar = _bar_decoder.decode(msg.data)
        seq = msg.metadata.sequence.stream if msg.metadata else None
        async with group.lock:
            if seq is not None:
                group.next_seq = seq + 1
            group.last_bar_end = bar.end
            if group.stale:
                await self.set_stale(group, None)
            with self.idle.urgent():
                market_open = await self.market_open(bar.segment, bar.end)
                advances, decided, quiet = [], [], []
                ctx = Context(market_open=market_open, stale_feed=group.stale,
                              account_pnl=self.account_pnl, pacer_ok=self._pace,
                              view=read_bar(bar))
                async with self.turns.turn():
                    self._evaluate(group, bar, seq, ctx, advances, decided, quiet)
                if advances:
                    await self.bar_commits.submit(decided, advances)
            if quiet:
                # still under the group's lock: its next bar waits until this one is stored
                await self.store_quiet(quiet)

    @staticmethod
    def _evaluate(group: feeds.Group, bar: Bar, seq: int | None, ctx: Context,
                  advances: list, decided: list, quiet: list) -> None:
        """Run a bar through an instrument's deployments (pure: no I/O)."""
        for runner in list(group.runners.values()):
            out = runner.on_bar(bar, ctx)
            if out is None:
                continue
            # without a stream sequence a replay could not find the bar: store the state
            keep = seq is None or runner.checkpoint_due(bar)
            if keep:
                runner.stored(bar.start)
            if out:  # the state only when due: a restart replays the bars since from MD_BARS
                advances.append((runner.id, bar.start, runner.snapshot() if keep else None,
                                 bar.close, seq))
                decided.extend((runner, dec) for dec in out)
            else:
                quiet.append((runner, bar.start, bar.close, seq, keep))

    async def on_tick(self, group: feeds.Group, msg: Msg) -> None:
        """Check stop-loss and target of the instrument's open positions."""
        try:
            tick = _tick_decoder.decode(msg.data)
        except msgspec.DecodeError:
            return
        decided = [(r, dec) for r in list(group.runners.values())
                   for dec in r.on_tick(tick.ltp, tick.ltt)]
        if decided:
            with self.idle.urgent():
                await self.commit_ticked(decided)

    async def commit_ticked(self, decided: list[tuple[Runner, Decision]]) -> None:
        """Commit the stops and targets that the ticks of one read hit, together.

        When the market moves, one read brings a tick of many instruments, each hitting a
        stop or two; a commit each (about 1 ms of Postgres for the call, 0.1 for the
        decision) made fifty exits wait behind fifty commits. The first of them starts a
        commit that runs an event-loop iteration later, once every tick of the read has been
        checked; the others join it. Up to `TICK_COMMIT_DECISIONS` decisions a commit, and
        the commits run side by side: one transaction uses one Postgres core.
        """
        self._ticked += decided
        if self._tick_commit is None:
            self._tick_commit = asyncio.create_task(self._commit_ticked())
        await asyncio.shield(self._tick_commit)

    async def _commit_ticked(self) -> None:
        batch, self._ticked, self._tick_commit = self._ticked, [], None
        await asyncio.gather(*(self.commit(chunk, None)
                               for chunk in chunked(batch, TICK_COMMIT_DECISIONS)))

    async def commit(self, decided: list[tuple[Runner, Decision]],
                     advances: list | None) -> None:
        """Write decisions (and the bar each deployment saw) in one transaction, then publish."""
        out = Outgoing()
        now = self.clock.now()
        lost: set[str] = set()
        try:
            async with self.pool.acquire() as conn:
                kept, _ = await ledger.commit(conn, out, self.owner,
                                              [(runner.row, dec) for runner, dec in decided],
                                              now, advances)
            lost = ({a[0] for a in advances} if advances is not None
                    else {r.id for r, _ in decided}) - kept
        except Exception:
            log.exception("engine.commit_failed")
            out = Outgoing()  # rolled back: nothing of it may go out
            failed = {r.id for r, _ in decided} | {a[0] for a in advances or []}
            # the in-memory state ran ahead of the table: rebuild it from the table
            for dep_id in failed:
                await self.drop(dep_id)
            with contextlib.suppress(Exception):
                await self.pool.execute("UPDATE deployments SET owner = NULL WHERE owner = $1"
                                        " AND id = ANY($2::uuid[])", self.owner, list(failed))
            self.wake.set()
        await out.publish(self.js, self.pool, self.later)
        for dep_id in lost:  # someone else owns it now, or it stopped: forget our state
            await self.drop(dep_id)
        for hook in self.on_commit:
            hook(decided)

    async def store_quiet(self, rows: list[tuple[Runner, datetime, int, int | None, bool]]) -> None:
        """Record the bar deployments saw that decided nothing, batched across instruments.

        Most deployments decide nothing on most bars, yet each must record the bar it saw
        (and, every few bars, its evaluator state). Done in the bar's decision commit, that
        work stood between the bar and every intent of the minute; here it joins one write
        for all instruments once the engine is idle (`ledger.Idle`). Nothing was decided, so the
        write is the one a decision commit would make, only later: a crash before it
        replays those bars, and they decide nothing again.
        """
        done = asyncio.get_running_loop().create_future()
        self._quiet.append((rows, done))
        if self._quiet_task is None:
            self._quiet_task = asyncio.create_task(self._flush_quiet())
            self._background.add(self._quiet_task)
            self._quiet_task.add_done_callback(self._background.discard)
        lost = await done
        for dep_id in lost:
            await self.drop(dep_id)

    async def _flush_quiet(self) -> None:
        try:
            await self.idle.wait()  # the burst's decisions first
        finally:
            batch, self._quiet, self._quiet_task = self._quiet, [], None
        ids = {r.id for part, _ in batch for r, *_ in part}
        lost: set[str] = set()
        try:
            # the snapshot is taken now: each group's lock is held until its rows are written
            rows = [(r.id, start, r.snapshot() if keep else None, price, seq)
                    for part, _ in batch for r, start, price, seq, keep in part]
            async with self.pool.acquire() as conn:
                kept, _ = await ledger.commit(conn, Outgoing(), self.owner, [],
                                              self.clock.now(), rows)
            lost = ids - kept
        except Exception:
            log.exception("engine.commit_failed")
            lost = ids
            with contextlib.suppress(Exception):  # rebuilt from the table by the next claim
                await self.pool.execute("UPDATE deployments SET owner = NULL WHERE owner = $1"
                                        " AND id = ANY($2::uuid[])", self.owner, list(ids))
            self.wake.set()
        finally:  # never leave an instrument waiting: its lock is held until this answers
            for part, done in batch:
                if not done.done():
                    done.set_result([r.id for r, *_ in part if r.id in lost])

    async def set_stale(self, group: feeds.Group, reason: str | None) -> None:
        """Hold (reason) or allow (None) new entries of every deployment of an instrument."""
        if group.stale == reason:
            return
        group.stale = reason
        out = Outgoing()
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            ids = list(group.runners)
            await repo.set_entries_paused(conn, ids, reason)
            for dep_id in ids:
                dep = await repo.get_deployment(conn, None, dep_id)
                if dep is not None:
                    cls = EntriesPaused if reason else EntriesResumed
                    await deployment_event(conn, out, cls, dep, now, reason or "feed recovered")
                    group.runners[dep_id].entries_paused = reason
        await out.publish(self.js, self.pool)

    # --- helpers --------------------------------------------------------------------------

    def _pace(self, account_id: str) -> bool:
        return self.pacer.allow(account_id, _time.monotonic())

    def account_pnl(self, account_id: str) -> int:
        """Return today's P&L of every running deployment of an account: those running here
        now, the others' as of the last refresh (every heartbeat, and after their fills)."""
        return sum(r.day_pnl() for r in self.by_account.get(account_id, {}).values()) \
            + self.elsewhere.get(account_id, 0)

    async def refresh_elsewhere(self) -> None:
        """Read the P&L of this replica's accounts' deployments that other replicas run."""
        accounts = list(self.by_account)
        if not accounts:
            self.elsewhere = {}
            return
        day_start = d.ist(self.clock.now()).replace(hour=0, minute=0, second=0, microsecond=0)
        async with self.pool.acquire() as conn:
            self.elsewhere = await repo.pnl_elsewhere(conn, self.owner, accounts, day_start)

    def pnl_changed_elsewhere(self) -> None:
        """A deployment another replica runs had a fill: refresh soon (coalesced)."""
        if self._elsewhere_task is not None and not self._elsewhere_task.done():
            return

        async def refresh() -> None:
            await asyncio.sleep(0.05)  # one read for a burst of fills
            try:
                await self.refresh_elsewhere()
            except Exception as exc:  # the next heartbeat reads it again
                log.warning("engine.pnl_refresh_failed", error=str(exc))

        self._elsewhere_task = asyncio.create_task(refresh())

    async def market_open(self, segment: str, at: datetime) -> bool:
        """Return whether the segment trades at `at`: session hours, then the calendar."""
        t = d.ist_time(at)
        local = d.ist(at).weekday() < 5 and d.parse_hhmm(self.s.session_open) <= t \
            < d.parse_hhmm(self.s.session_close)
        if not local or not self.s.use_calendar:
            return local
        key = (segment, int(at.timestamp() // 60))
        if key not in self._open:
            try:
                self._open[key] = await self.clients.is_open(segment, at)
            except Exception:  # calendar unreachable: the session hours decide
                self._open[key] = local
            if len(self._open) > 10_000:
                self._open.clear()
        return self._open[key]

    async def feed_status(self, msg: Msg) -> None:
        """Pause entries when marketdata reports an instrument stale; resume on recovery."""
        ev = msgspec.json.decode(msg.data, type=InstrumentFeedEvent)
        stale = msg.subject == subjects.feed_status("stale")
        for group in list(self.groups.values()):
            if group.key[1:] == (ev.segment, ev.security_id):
                await self.set_stale(group, f"feed stale for {ev.silent_s:.0f}s" if stale else None)

    def settle_heap(self) -> None:
        """Collect garbage once, then exempt what survived from later collections.

        Python's full collections walk every tracked object: with 1,000 deployments'
        evaluators, trades and rows in memory that stopped the engine for 40-80 ms at
        random moments, a bar's intents waiting behind it (the benchmark's p99 halved
        without them). Frozen objects (gc.freeze) are still freed by reference counting;
        only cycles among them wait, and the engine's long-lived objects form none. Done
        after claiming deployments and every `gc_freeze_s`, when the young heap is small.
        """
        if self.s.gc_freeze_s <= 0:
            return
        started = _time.perf_counter()
        gc.collect()
        gc.freeze()
        # young collections every 50,000 allocations, not 700: a busy bar allocates tens of
        # thousands of short-lived objects, freed by reference counting anyway
        gc.set_threshold(50_000, 20, 1_000)
        self._settled_at = _time.monotonic()
        log.debug("engine.heap_settled", ms=round((_time.perf_counter() - started) * 1000, 1),
                  frozen=gc.get_freeze_count())

    async def timers(self) -> None:
        """Square off at the configured time and notice stalled bars, once a second."""
        while True:
            await asyncio.sleep(1.0)  # a pacing loop, not a wait for an outcome
            if 0 < self.s.gc_freeze_s < _time.monotonic() - self._settled_at:
                self.settle_heap()
            try:
                now = self.clock.now()
                for group in list(self.groups.values()):
                    decided = [(r, dec) for r in list(group.runners.values())
                               for dec in r.square_off_now(now)]
                    if decided:
                        await self.commit(decided, None)
                    if group.last_bar_end is not None and not group.stale \
                            and (now - group.last_bar_end).total_seconds() > self.s.stale_bar_s \
                            and await self.market_open(group.key[1], now):
                        await self.set_stale(group, "no bar from the feed")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine.timers_failed")

"""A runner's state at start: warm-up from history, trades from the table, reconciliation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from contracts import streams, subjects
from contracts.events.marketdata import Bar
from nats.js.errors import NotFoundError
from svckit.logging import get_logger

from . import domain as d
from . import repository as repo
from .runner import Runner, TradeState

if TYPE_CHECKING:
    from .engine import Engine

log = get_logger(__name__)
_bar_decoder = msgspec.json.Decoder(Bar)


async def warm_up(engine: Engine, runner: Runner) -> None:
    """Feed the rule's lookback (plus convergence bars) of history, then store the state."""
    r = runner.row
    need = max(runner.entry.rule.lookback, runner.exit.rule.lookback) + engine.s.warmup_extra_bars
    now = engine.clock.now()
    try:
        bars = await engine.clients.history(r["segment"], r["security_id"], r["timeframe"],
                                            need, now)
    except Exception as exc:  # no history: the first live bars warm the indicators instead
        log.warning("deployment.cold_start", deployment_id=runner.id, error=str(exc))
        bars = []
    runner.warm_up(bars)
    await engine.pool.execute(
        "UPDATE deployments SET state = $2::text::jsonb, last_bar_start = $3,"
        " last_price_paise = $4 WHERE id = $1::uuid",
        runner.id, repo.dumps(runner.snapshot()), runner.last_bar_start, runner.last_price)
    await engine.pool.execute(
        "INSERT INTO exec_logs (deployment_id, user_id, ts, kind, action, message)"
        " VALUES ($1::uuid, $2, $3, 'info', 'warm_up', $4)", runner.id, r["user_id"], now,
        f"warmed up on {len(bars)} bars (rule lookback {need - engine.s.warmup_extra_bars})")


async def catch_up(engine: Engine, runner: Runner, cache: dict | None = None) -> str | None:
    """Bring a restored evaluator state up to the last bar the deployment evaluated.

    The state is stored every few bars (`state_seq`); the bars after it, up to
    `last_bar_seq`, were evaluated and their decisions committed. They are replayed from
    MD_BARS through the evaluators only, so the live bars that follow see exactly the
    state they would have seen without the restart. Returns why not, if the stream no
    longer holds them (the deployment halts: a guessed state could fire a signal the
    strategy never gave). `cache` holds what one round of claims has fetched already: the
    deployments of an instrument replay mostly the same bars.
    """
    cache = {} if cache is None else cache
    r = runner.row
    first, last = r.get("state_seq"), r.get("last_bar_seq")
    if first is None or last is None or first >= last:
        return None
    subject = subjects.bar(r["timeframe"], r["segment"], r["security_id"])
    bars, seq = [], first + 1
    try:
        if "first_seq" not in cache:
            cache["first_seq"] = (await engine.js.stream_info(streams.MD_BARS.name)).state.first_seq
        if cache["first_seq"] > seq:
            raise NotFoundError
        while seq <= last:
            key = (subject, seq)
            if key not in cache:  # the next bar of the instrument from seq on
                msg = await engine.js.get_msg(streams.MD_BARS.name, seq=seq, subject=subject,
                                              next=True)
                cache[key] = None if msg.seq is None else (msg.seq, _bar_decoder.decode(msg.data))
            found = cache[key]
            if found is None or found[0] > last:
                break
            found_seq, bar = found
            if not bars or bar.start > bars[-1].start:  # a republished bar counts once, as live
                bars.append(bar)
            seq = found_seq + 1
    except NotFoundError:
        pass
    if seq != last + 1:
        return (f"the evaluator state could not be rebuilt: MD_BARS no longer holds the bars"
                f" after sequence {first}; stop and deploy the strategy again")
    done = runner.entry.last_ts
    runner.warm_up([b for b in bars if done is None or b.start > done])
    log.info("deployment.state_replayed", deployment_id=runner.id, bars=len(bars))
    return None


async def load_trades(pool, runner: Runner, now: datetime) -> None:
    """Rebuild the runner's open positions and today's realized P&L from the table."""
    async with pool.acquire() as conn:
        rows = await repo.trades_of(conn, runner.id)
    today = d.ist(now).date()
    deferred = {t.id: t.exit_on_fill for t in runner.trades.values() if t.exit_on_fill}
    runner.trades = {}
    runner.realized_today = 0
    for t in rows:
        if t["status"] == "closed":
            if t["exit_time"] is not None and d.ist(t["exit_time"]).date() == today:
                runner.realized_today += t["pnl_paise"] or 0
            continue
        runner.trades[t["id"]] = TradeState(
            id=t["id"], entry_intent_id=t["entry_intent_id"], status=t["status"],
            quantity=t["quantity"], exited=t["exited_quantity"],
            entry_price=t["entry_price_paise"], stop=t["stop_paise"], target=t["target_paise"],
            exiting=t["exit_intent_id"] is not None, exit_on_fill=deferred.get(t["id"]))


async def reconcile(engine: Engine, runner: Runner) -> str | None:
    """Compare positions with brokerage; None when they agree, "wait" when orders are in flight."""
    if not engine.s.reconcile:
        return None
    r = runner.row
    async with engine.pool.acquire() as conn:
        if await repo.unsettled(conn, runner.id):
            return "wait"
        expected = await repo.expected_net(conn, r["account_id"], r["segment"], r["security_id"])
    positions = await engine.clients.positions(r["user_id"], r["account_id"])
    held = sum(p.net_quantity for p in positions.items
               if p.security_id == r["security_id"] and p.exchange_segment == r["segment"]
               and p.product_type == r["product"])
    if held != expected:
        return (f"reconciliation mismatch: the broker holds {held} units of {r['symbol']},"
                f" the deployments expect {expected}")
    return None

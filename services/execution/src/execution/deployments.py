"""Use cases behind the API: deploy, pause, resume, stop, read, logs, trades, kill switch."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
from contracts import execution as ex
from contracts.events.execution import (
    DeploymentPaused,
    DeploymentResumed,
    DeploymentStarted,
    DeploymentStopped,
)
from contracts.types import rupees_to_paise
from nats.js import JetStreamContext
from svckit.errors import Conflict, NotFound

from . import domain as d
from . import repository as repo
from . import views
from .clients import Clients
from .ledger import Outgoing, deployment_event, record
from .runner import Decision
from .validation import check

DEPLOY_CHANNEL = "execution_deploy"


def _paise(value) -> int | None:
    return None if value is None else rupees_to_paise(value)


class Deployments:
    """Deployment commands and queries, scoped to the acting user."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, clients: Clients, clock) -> None:
        self.pool, self.js, self.clients, self.clock = pool, js, clients, clock

    async def create(self, user_id: str, req: ex.CreateDeployment) -> ex.Deployment:
        """Validate, store and announce a deployment; an engine replica picks it up."""
        c = await check(self.clients, user_id, req)
        s, now, out = c.strategy, self.clock.now(), Outgoing()
        async with self.pool.acquire() as conn, conn.transaction():
            clash = await conn.fetchval(
                "SELECT id FROM deployments WHERE user_id = $1 AND strategy_id = $2"
                " AND account_id = $3 AND status IN ('active', 'paused') FOR UPDATE",
                user_id, s.id, req.account_id)
            if clash:
                raise Conflict(f"this strategy already runs on this account (deployment {clash})")
            row = await repo.insert_deployment(conn, dict(
                id=uuid.uuid4(), user_id=user_id, strategy_id=s.id, strategy_version=s.version,
                strategy_version_id=s.version_id, name=s.name, account_id=req.account_id,
                broker=c.account.broker.value, segment=s.instrument.segment,
                security_id=s.instrument.security_id, symbol=s.instrument.symbol,
                timeframe=s.timeframe, entry_rule=s.entry_rule, exit_rule=s.exit_rule,
                stop_loss_pct=s.stop_loss_pct, target_pct=s.target_pct, direction=s.direction,
                product=c.product, quantity=req.quantity or s.position_size,
                lot_size=c.instrument.lot_size or 1,
                max_positions=req.max_positions or s.max_positions, max_quantity=req.max_quantity,
                max_notional_paise=_paise(req.max_notional),
                daily_loss_limit_paise=_paise(req.daily_loss_limit),
                account_daily_loss_limit_paise=_paise(req.account_daily_loss_limit),
                status="active", deployed_at=now))
            await deployment_event(conn, out, DeploymentStarted, row, now)
            await conn.execute("SELECT pg_notify($1, $2)", DEPLOY_CHANNEL, str(row["id"]))
        await out.publish(self.js, self.pool)
        return views.deployment(row)

    async def _own(self, conn, user_id: str, dep_id: str, lock: bool = False) -> dict:
        try:
            row = await repo.get_deployment(conn, user_id, dep_id, lock=lock)
        except asyncpg.DataError:
            row = None  # not a UUID: no such deployment
        if row is None:
            raise NotFound("Deployment not found")
        return row

    async def get(self, user_id: str, dep_id: str) -> ex.Deployment:
        """Return a deployment with its live stats."""
        async with self.pool.acquire() as conn:
            row = await self._own(conn, user_id, dep_id)
            stats = await repo.stats(conn, dep_id)
            trades = [t for t in await repo.trades_of(conn, dep_id) if t["status"] == "open"]
        last = row["last_price_paise"]
        unreal = sum(d.pnl(t["direction"], t["quantity"] - t["exited_quantity"],
                           t["entry_price_paise"], last)
                     for t in trades if last is not None and t["entry_price_paise"] is not None)
        net = sum((1 if t["direction"] == "long" else -1) * (t["quantity"] - t["exited_quantity"])
                  for t in trades)
        return views.deployment(row, stats, unreal, len(trades), net)

    async def list(self, user_id: str, q: ex.ListDeployments) -> ex.DeploymentPage:
        """Return one page of the user's deployments."""
        async with self.pool.acquire() as conn:
            rows, total = await repo.list_deployments(conn, user_id, q.status, q.strategy_id,
                                                      q.page_size, (q.page - 1) * q.page_size)
        return ex.DeploymentPage(items=[views.deployment(r) for r in rows], total=total,
                                 page=q.page, page_size=q.page_size)

    async def pause(self, user_id: str, dep_id: str) -> ex.Deployment:
        """Stop new entries; exits, stops and square-off keep running."""
        return await self._move(user_id, dep_id, "paused", ("active",), DeploymentPaused)

    async def resume(self, user_id: str, dep_id: str) -> ex.Deployment:
        """Take new entries again."""
        return await self._move(user_id, dep_id, "active", ("paused",), DeploymentResumed)

    async def _move(self, user_id, dep_id, status, allowed, cls) -> ex.Deployment:
        now, out = self.clock.now(), Outgoing()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._own(conn, user_id, dep_id, lock=True)
            if row["status"] not in allowed:
                raise Conflict(f"a deployment that is {row['status']} cannot be {status}")
            row = await repo.set_status(conn, dep_id, status, at=now)
            await deployment_event(conn, out, cls, row, now)
        await out.publish(self.js, self.pool)
        # the runner reads the status from its row; the next heartbeat reloads it
        await self.pool.execute("SELECT pg_notify($1, $2)", DEPLOY_CHANNEL, dep_id)
        return views.deployment(row)

    async def stop(self, user_id: str, dep_id: str, reason: str = "stopped by the user") -> ex.Deployment:
        """Stop for good and flatten the deployment's positions."""
        now, out = self.clock.now(), Outgoing()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._own(conn, user_id, dep_id, lock=True)
            if row["status"] not in ("active", "paused"):
                raise Conflict(f"the deployment is already {row['status']}")
            await self._flatten(conn, out, row, now, reason)
            row = await repo.set_status(conn, dep_id, "stopped", at=now)
            await deployment_event(conn, out, DeploymentStopped, row, now, reason)
        await out.publish(self.js, self.pool)
        return views.deployment(row)

    async def _flatten(self, conn, out: Outgoing, row: dict, now: datetime, tag: str) -> int:
        held = [t for t in await repo.trades_of(conn, str(row["id"]))
                if t["status"] == "open" and t["exit_intent_id"] is None
                and t["quantity"] > t["exited_quantity"]]
        if not held:
            return 0
        dec = Decision(action=d.KILL_SWITCH if "kill" in tag else d.EXIT,
                       side=d.exit_side(row["direction"]),
                       quantity=sum(t["quantity"] - t["exited_quantity"] for t in held),
                       kind="signal", ts=now, rule=tag,
                       intent_id=d.intent_id(str(row["id"]), now, "flatten"), leg="flatten",
                       trade_ids=[t["id"] for t in held])
        return int(await record(conn, out, row, dec, now))

    async def kill(self, user_id: str, req: ex.ActivateKillSwitch) -> ex.KillSwitchResult:
        """Stop every deployment, cancel their open orders, flatten, optionally the broker's switch."""
        now, out = self.clock.now(), Outgoing()
        reason = "kill switch" + (f": {req.reason}" if req.reason else "")
        exits = 0
        async with self.pool.acquire() as conn, conn.transaction():
            running = await repo.user_running(conn, user_id)
            ids = [str(r["id"]) for r in running]
            await conn.fetch("SELECT id FROM deployments WHERE id = ANY($1::uuid[]) FOR UPDATE", ids)
            resting = await repo.open_intents(conn, ids)
            for row in running:
                exits += await self._flatten(conn, out, row, now, reason)
                row = await repo.set_status(conn, str(row["id"]), "stopped", at=now)
                await deployment_event(conn, out, DeploymentStopped, row, now, reason)
        await out.publish(self.js, self.pool)
        cancelled = 0
        for i in resting:
            if i["order_id"] and i["action"] == d.ENTRY:
                try:
                    await self.clients.cancel(user_id, i["order_id"])
                    cancelled += 1
                except Exception:  # already done, or the broker is down: the switch below covers it
                    pass
        broker: dict[str, bool] = {}
        if req.broker_kill_switch:
            await self._settle(ids, timeout_s=5.0)
            for acct in sorted({r["account_id"] for r in running}):
                try:
                    state = await self.clients.broker_kill(user_id, acct)
                    broker.update(state.accounts)
                except Exception:
                    broker[acct] = False
        return ex.KillSwitchResult(stopped_deployments=len(running), exit_intents=exits,
                                   cancelled_orders=cancelled, broker_accounts=broker)

    async def _settle(self, ids: list[str], timeout_s: float) -> None:
        """Give flatten orders a moment to fill before the broker's own switch blocks orders."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            async with self.pool.acquire() as conn:
                if not await repo.open_intents(conn, ids):
                    return
            await asyncio.sleep(0.1)

    async def logs(self, user_id: str, q: ex.DeploymentLogsQuery) -> ex.ExecutionLogPage:
        """Return one page of a deployment's execution log."""
        async with self.pool.acquire() as conn:
            await self._own(conn, user_id, q.id)
            rows, total = await repo.logs_page(conn, q.id, q.kind, q.page_size,
                                               (q.page - 1) * q.page_size)
        return ex.ExecutionLogPage(items=[views.log_entry(r) for r in rows], total=total,
                                   page=q.page, page_size=q.page_size)

    async def trades(self, user_id: str, q: ex.ListStrategyTrades) -> ex.StrategyTradePage:
        """Return one page of the user's strategy trades."""
        async with self.pool.acquire() as conn:
            if q.deployment_id:
                await self._own(conn, user_id, q.deployment_id)
            rows, total = await repo.trades_page(conn, user_id, q.deployment_id, q.status,
                                                 q.page_size, (q.page - 1) * q.page_size)
            prices = await self._prices(conn, rows)
        return ex.StrategyTradePage(
            items=[views.trade(r, prices.get(str(r["deployment_id"]))) for r in rows],
            total=total, page=q.page, page_size=q.page_size)

    async def trade(self, user_id: str, trade_id: str) -> ex.StrategyTrade:
        """Return one strategy trade."""
        async with self.pool.acquire() as conn:
            row = await repo.trade(conn, user_id, trade_id)
            if row is None:
                raise NotFound("Trade not found")
            prices = await self._prices(conn, [row])
        return views.trade(row, prices.get(str(row["deployment_id"])))

    @staticmethod
    async def _prices(conn, rows: list[dict]) -> dict[str, int | None]:
        ids = list({str(r["deployment_id"]) for r in rows})
        got = await conn.fetch("SELECT id, last_price_paise FROM deployments WHERE id = ANY($1::uuid[])",
                               ids)
        return {str(g["id"]): g["last_price_paise"] for g in got}

"""Strategy use cases: CRUD with versions, clone, validation, status changes from events."""

from __future__ import annotations

from typing import Any

import asyncpg
from contracts import backtest as C
from contracts.events.backtest import DeploymentChanged
from svckit.clock import Clock
from svckit.outbox import claim

from . import domain
from . import repository as repo
from .errors import Conflict, NotFound, ValidationFailed
from .publish import emit_status

DEPLOYMENT_CONSUMER = "backtest-deployments"


def to_model(row: Any) -> C.Strategy:
    """Build the reply model from a joined strategy/version row."""
    return C.Strategy(
        id=str(row["id"]), version_id=str(row["version_id"]), version=row["version"],
        latest_version=row["latest_version"], status=row["status"], name=row["name"],
        description=row["description"],
        instrument=C.StrategyInstrument(segment=row["segment"], security_id=row["security_id"],
                                        symbol=row["symbol"]),
        timeframe=row["timeframe"], entry_rule=row["entry_rule"], exit_rule=row["exit_rule"],
        stop_loss_pct=row["stop_loss_pct"], target_pct=row["target_pct"],
        position_size=row["position_size"], max_positions=row["max_positions"],
        product_type=row["product_type"], direction=row["direction"],
        created_at=row["created_at"], updated_at=row["updated_at"])


class Strategies:
    """Strategy use cases for one service instance."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self.pool = pool
        self.clock = clock

    @staticmethod
    def _check(fields: dict[str, Any]) -> None:
        errors = domain.rule_errors(fields["entry_rule"], fields["exit_rule"])
        if errors:
            raise ValidationFailed("A rule has errors", details=errors)

    async def create(self, user_id: str, body: C.CreateStrategy) -> C.Strategy:
        """Create a draft strategy at version 1."""
        fields = domain.version_from_create(body)
        self._check(fields)
        async with self.pool.acquire() as conn, conn.transaction():
            sid = await repo.insert_strategy(conn, user_id, fields)
            return to_model(await repo.strategy(conn, user_id, str(sid)))

    async def get(self, user_id: str, sid: str, version: int | None = None) -> C.Strategy:
        """Return a user's strategy (current version unless one is named)."""
        async with self.pool.acquire() as conn:
            row = await repo.strategy(conn, user_id, sid, version)
        if row is None:
            raise NotFound("Strategy not found")
        return to_model(row)

    async def list(self, user_id: str, q: C.ListStrategies) -> C.StrategyPage:
        """Return one page of the user's strategies."""
        async with self.pool.acquire() as conn:
            rows, total = await repo.list_strategies(conn, user_id, q)
        return C.StrategyPage(items=[to_model(r) for r in rows], total=total, page=q.page,
                              page_size=q.page_size)

    async def versions(self, user_id: str, sid: str) -> C.StrategyVersions:
        """List every version of a user's strategy."""
        async with self.pool.acquire() as conn:
            row = await repo.strategy(conn, user_id, sid)
            if row is None:
                raise NotFound("Strategy not found")
            rows = await repo.versions(conn, row["id"])
        return C.StrategyVersions(id=sid, versions=[
            C.StrategyVersion(version_id=str(r["id"]), version=r["version"], created_at=r["created_at"],
                              entry_rule=r["entry_rule"], exit_rule=r["exit_rule"]) for r in rows])

    async def update(self, user_id: str, body: C.UpdateStrategy) -> C.Strategy:
        """Store the edit as a new version (no change, no new version)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.strategy(conn, user_id, body.id, lock=True)
            if row is None:
                raise NotFound("Strategy not found")
            if row["status"] == domain.ARCHIVED:
                raise Conflict("An archived strategy cannot be edited; clone it instead")
            fields = domain.merge_update(dict(row), body)
            self._check(fields)
            if domain.changed(dict(row), fields):
                await repo.insert_version(conn, row["id"], row["latest_version"] + 1, fields)
            return to_model(await repo.strategy(conn, user_id, body.id))

    async def delete(self, user_id: str, sid: str) -> C.StrategyDeleted:
        """Delete a strategy, or archive it when backtests or deployments reference it."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.strategy(conn, user_id, sid, lock=True)
            if row is None:
                raise NotFound("Strategy not found")
            if row["status"] == domain.LIVE:
                raise Conflict("Stop the strategy's deployments before deleting it")
            if await repo.references(conn, row["id"]):
                await repo.set_status(conn, row["id"], domain.ARCHIVED)
                await emit_status(conn, self.clock, user_id, row["id"], row["status"],
                                  domain.ARCHIVED, "deleted while referenced")
                return C.StrategyDeleted(id=sid, deleted=False, archived=True)
            await repo.delete_strategy(conn, row["id"])
            return C.StrategyDeleted(id=sid, deleted=True, archived=False)

    async def clone(self, user_id: str, sid: str) -> C.Strategy:
        """Copy the current version into a new draft strategy."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.strategy(conn, user_id, sid)
            if row is None:
                raise NotFound("Strategy not found")
            fields = {k: row[k] for k in domain.VERSION_FIELDS}
            fields["name"] = f"{row['name']} (copy)"[:255]
            new_id = await repo.insert_strategy(conn, user_id, fields)
            return to_model(await repo.strategy(conn, user_id, str(new_id)))

    @staticmethod
    def validate(body: C.ValidateRules) -> C.RulesValidation:
        """Check the rules sent (no state; the editor calls this as the user types)."""
        entry = domain.check_rule(body.entry_rule) if body.entry_rule is not None else None
        exit_ = domain.check_rule(body.exit_rule) if body.exit_rule is not None else None
        valid = all(c.valid for c in (entry, exit_) if c is not None)
        return C.RulesValidation(valid=valid, entry_rule=entry, exit_rule=exit_)

    async def on_deployment(self, event: DeploymentChanged, started: bool) -> None:
        """Track a deployment starting or stopping and move the strategy live or back."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await claim(conn, DEPLOYMENT_CONSUMER, event.event_id):
                return
            row = await repo.strategy_owner(conn, event.strategy_id)
            if row is None or row["user_id"] != event.user_id:
                return  # not ours, or a stale event about a deleted strategy
            active = await repo.set_deployment(conn, event.deployment_id, row["id"],
                                               event.strategy_version_id, started)
            has_bt = await repo.has_completed_backtest(conn, row["id"])
            new = domain.after_deployment(row["status"], active, has_bt)
            if new != row["status"]:
                await repo.set_status(conn, row["id"], new)
                await emit_status(conn, self.clock, row["user_id"], row["id"], row["status"], new,
                                  "deployment started" if started else "deployment stopped")

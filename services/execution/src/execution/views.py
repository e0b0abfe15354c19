"""Table rows to reply models (paise to rupees, seconds to minutes)."""

from __future__ import annotations

from decimal import Decimal

from contracts import execution as ex
from contracts.types import paise_to_rupees

from . import domain as d


def _r(paise: int | None) -> Decimal | None:
    return None if paise is None else paise_to_rupees(int(paise))


def deployment(row: dict, stats: dict | None = None, unrealized: int = 0,
               open_positions: int = 0, net: int = 0) -> ex.Deployment:
    """Build the deployment reply."""
    st = ex.DeploymentStats()
    if stats is not None:
        st = ex.DeploymentStats(
            total_orders=stats["total"], successful_orders=stats["ok"],
            failed_orders=stats["bad"], open_positions=open_positions, net_quantity=net,
            realized_pnl=_r(stats["realized"]), unrealized_pnl=_r(unrealized),
            total_pnl=_r(stats["realized"] + unrealized), last_price=_r(row["last_price_paise"]),
            last_bar_at=row["last_bar_start"])
    return ex.Deployment(
        id=str(row["id"]), strategy_id=row["strategy_id"], strategy_version=row["strategy_version"],
        strategy_version_id=row["strategy_version_id"], name=row["name"],
        account_id=row["account_id"], broker=row["broker"], segment=row["segment"],
        security_id=row["security_id"], symbol=row["symbol"], timeframe=row["timeframe"],
        product=row["product"], direction=row["direction"], quantity=row["quantity"],
        max_positions=row["max_positions"], max_quantity=row["max_quantity"],
        max_notional=_r(row["max_notional_paise"]), daily_loss_limit=_r(row["daily_loss_limit_paise"]),
        account_daily_loss_limit=_r(row["account_daily_loss_limit_paise"]), status=row["status"],
        entries_paused=row["entries_paused"], error_message=row["error_message"],
        deployed_at=row["deployed_at"], paused_at=row["paused_at"], stopped_at=row["stopped_at"],
        stats=st)


def log_entry(row: dict) -> ex.ExecutionLog:
    """Build one execution-log reply."""
    return ex.ExecutionLog(
        id=row["id"], deployment_id=str(row["deployment_id"]), ts=row["ts"], kind=row["kind"],
        action=row["action"], message=row["message"], reasons=row["reasons"] or [],
        bar=row["bar"], values=row["values"], intent_id=row["intent_id"],
        created_at=row["created_at"])


def trade(row: dict, last_price: int | None) -> ex.StrategyTrade:
    """Build one strategy-trade reply."""
    entry, exit_ = row["entry_price_paise"], row["exit_price_paise"]
    held = None
    if row["entry_time"] is not None and row["exit_time"] is not None:
        held = int((row["exit_time"] - row["entry_time"]).total_seconds())
    pnl_pct = None
    if row["pnl_paise"] is not None and entry:
        pnl_pct = round(row["pnl_paise"] / (entry * row["quantity"]) * 100, 4)
    open_qty = row["quantity"] - row["exited_quantity"]
    unreal = None
    if row["status"] == "open" and entry is not None and last_price is not None:
        unreal = _r(d.pnl(row["direction"], open_qty, entry, last_price))
    return ex.StrategyTrade(
        id=row["id"], deployment_id=str(row["deployment_id"]), strategy_id=row["strategy_id"],
        account_id=row["account_id"], segment=row["segment"], security_id=row["security_id"],
        symbol=row["symbol"], direction=row["direction"], quantity=row["quantity"],
        open_quantity=open_qty, entry_price=_r(entry), exit_price=_r(exit_),
        entry_time=row["entry_time"], exit_time=row["exit_time"], stop_loss=_r(row["stop_paise"]),
        target=_r(row["target_paise"]), pnl=_r(row["pnl_paise"]), pnl_percent=pnl_pct,
        unrealized_pnl=unreal, holding_seconds=held,
        holding_duration=None if held is None else held // 60, status=row["status"],
        exit_reason=row["exit_reason"], entry_intent_id=row["entry_intent_id"],
        exit_intent_id=row["exit_intent_id"])

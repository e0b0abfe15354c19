"""One thin function per subject: decode (svckit did), check the user, call the use case."""

from __future__ import annotations

from contracts import execution as ex
from svckit.context import RequestContext
from svckit.micro import MicroService

from .deployments import Deployments


def register(micro: MicroService, svc: Deployments) -> None:
    """Register every execution endpoint."""

    async def create(q: ex.CreateDeployment, ctx: RequestContext) -> ex.Deployment:
        return await svc.create(ctx.require_verified(), q)

    async def list_(q: ex.ListDeployments, ctx: RequestContext) -> ex.DeploymentPage:
        return await svc.list(ctx.require_user(), q)

    async def get(q: ex.DeploymentRef, ctx: RequestContext) -> ex.Deployment:
        return await svc.get(ctx.require_user(), q.id)

    async def pause(q: ex.DeploymentRef, ctx: RequestContext) -> ex.Deployment:
        return await svc.pause(ctx.require_user(), q.id)

    async def resume(q: ex.DeploymentRef, ctx: RequestContext) -> ex.Deployment:
        return await svc.resume(ctx.require_verified(), q.id)

    async def stop(q: ex.DeploymentRef, ctx: RequestContext) -> ex.Deployment:
        return await svc.stop(ctx.require_user(), q.id)

    async def logs(q: ex.DeploymentLogsQuery, ctx: RequestContext) -> ex.ExecutionLogPage:
        return await svc.logs(ctx.require_user(), q)

    async def trades(q: ex.ListStrategyTrades, ctx: RequestContext) -> ex.StrategyTradePage:
        return await svc.trades(ctx.require_user(), q)

    async def trade(q: ex.TradeRef, ctx: RequestContext) -> ex.StrategyTrade:
        return await svc.trade(ctx.require_user(), q.id)

    async def kill(q: ex.ActivateKillSwitch, ctx: RequestContext) -> ex.KillSwitchResult:
        return await svc.kill(ctx.require_user(), q)

    for subject, model, handler in (
        (ex.CREATE_DEPLOYMENT, ex.CreateDeployment, create),
        (ex.LIST_DEPLOYMENTS, ex.ListDeployments, list_),
        (ex.GET_DEPLOYMENT, ex.DeploymentRef, get),
        (ex.PAUSE_DEPLOYMENT, ex.DeploymentRef, pause),
        (ex.RESUME_DEPLOYMENT, ex.DeploymentRef, resume),
        (ex.STOP_DEPLOYMENT, ex.DeploymentRef, stop),
        (ex.DEPLOYMENT_LOGS, ex.DeploymentLogsQuery, logs),
        (ex.LIST_TRADES, ex.ListStrategyTrades, trades),
        (ex.GET_TRADE, ex.TradeRef, trade),
        (ex.KILL_SWITCH, ex.ActivateKillSwitch, kill),
    ):
        micro.endpoint(subject, model, handler)

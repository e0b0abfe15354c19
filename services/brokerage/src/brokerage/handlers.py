"""One thin function per request subject: check who asks, call the use case, reply."""

from __future__ import annotations

import time

from contracts import brokerage as b
from contracts import orders as o
from contracts.api import Empty, Ok, Page
from svckit.context import RequestContext
from svckit.errors import RateLimited
from svckit.micro import MicroService

from .accounts import Accounts
from .manual import Manual
from .portfolio import Portfolio


def register(micro: MicroService, accounts: Accounts, manual: Manual, portfolio: Portfolio,
             limiter: OrderLimiter | None = None) -> None:
    """Register every brokerage endpoint."""
    ep = micro.endpoint

    async def list_accounts(_: Empty, ctx: RequestContext) -> b.AccountList:
        return await accounts.list(ctx.require_user())

    async def get_account(req: b.AccountRef, ctx: RequestContext) -> b.Account:
        return await accounts.get(ctx.require_user(), req.account_id)

    async def link(req: b.LinkAccount, ctx: RequestContext) -> b.Account:
        return await accounts.link(ctx.require_verified(), req)

    async def start_consent(req: b.StartConsent, ctx: RequestContext) -> b.ConsentStarted:
        return await accounts.start_consent(ctx.require_verified(), req)

    async def complete_consent(req: b.CompleteConsent, ctx: RequestContext) -> b.Account:
        return await accounts.complete_consent(ctx.require_verified(), req)

    async def update(req: b.UpdateAccount, ctx: RequestContext) -> b.Account:
        return await accounts.update(ctx.require_verified(), req)

    async def unlink(req: b.AccountRef, ctx: RequestContext) -> Ok:
        await accounts.unlink(ctx.require_user(), req.account_id)
        return Ok()

    async def test(req: b.AccountRef, ctx: RequestContext) -> b.ConnectionTest:
        return await accounts.test(ctx.require_user(), req.account_id)

    async def status(req: b.AccountRef, ctx: RequestContext) -> b.AccountHealth:
        return await accounts.status(ctx.require_user(), req.account_id)

    async def kill(req: b.SetKillSwitch, ctx: RequestContext) -> b.KillSwitchState:
        return await accounts.kill_switch(ctx.require_user(), req)

    async def summary(req: b.PortfolioQuery, ctx: RequestContext) -> b.PortfolioSummary:
        return await portfolio.summary(ctx.require_user(), req.account_id)

    async def positions(req: b.PortfolioQuery, ctx: RequestContext) -> b.PositionList:
        return await portfolio.positions(ctx.require_user(), req.account_id)

    async def holdings(req: b.PortfolioQuery, ctx: RequestContext) -> b.HoldingList:
        return await portfolio.holdings(ctx.require_user(), req.account_id)

    async def pnl(req: b.PortfolioQuery, ctx: RequestContext) -> b.PnlBreakdown:
        return await portfolio.pnl(ctx.require_user(), req.account_id)

    async def history(req: b.HistoryQuery, ctx: RequestContext) -> b.PortfolioHistory:
        return await portfolio.history(ctx.require_user(), req)

    async def place(req: o.PlaceOrder, ctx: RequestContext) -> o.Order:
        user_id = ctx.require_verified()
        if limiter is not None:
            await limiter.check(req.account_id)
        return await manual.place(user_id, req)

    async def cancel(req: o.OrderRef, ctx: RequestContext) -> o.Order:
        return await manual.cancel(ctx.require_user(), req.order_id)

    async def modify(req: o.ModifyOrder, ctx: RequestContext) -> o.Order:
        return await manual.modify(ctx.require_verified(), req)

    async def get_order(req: o.OrderRef, ctx: RequestContext) -> o.Order:
        return await manual.get(ctx.require_user(), req.order_id)

    async def list_orders(req: o.ListOrders, ctx: RequestContext) -> Page[o.Order]:
        return await manual.list(ctx.require_user(), req)

    async def list_trades(req: o.ListTrades, ctx: RequestContext) -> Page[o.Trade]:
        return await manual.trades(ctx.require_user(), req)

    async def get_trade(req: o.FillRef, ctx: RequestContext) -> o.Trade:
        return await manual.trade(ctx.require_user(), req.trade_id)

    for subject, model, fn in (
        (b.LIST_ACCOUNTS, Empty, list_accounts), (b.GET_ACCOUNT, b.AccountRef, get_account),
        (b.LINK_ACCOUNT, b.LinkAccount, link), (b.START_CONSENT, b.StartConsent, start_consent),
        (b.COMPLETE_CONSENT, b.CompleteConsent, complete_consent),
        (b.UPDATE_ACCOUNT, b.UpdateAccount, update), (b.UNLINK_ACCOUNT, b.AccountRef, unlink),
        (b.TEST_ACCOUNT, b.AccountRef, test), (b.ACCOUNT_STATUS, b.AccountRef, status),
        (b.KILL_SWITCH, b.SetKillSwitch, kill),
        (b.PORTFOLIO_SUMMARY, b.PortfolioQuery, summary),
        (b.PORTFOLIO_POSITIONS, b.PortfolioQuery, positions),
        (b.PORTFOLIO_HOLDINGS, b.PortfolioQuery, holdings),
        (b.PORTFOLIO_PNL, b.PortfolioQuery, pnl), (b.PORTFOLIO_HISTORY, b.HistoryQuery, history),
        (o.PLACE_ORDER, o.PlaceOrder, place), (o.CANCEL_ORDER, o.OrderRef, cancel),
        (o.MODIFY_ORDER, o.ModifyOrder, modify), (o.GET_ORDER, o.OrderRef, get_order),
        (o.LIST_ORDERS, o.ListOrders, list_orders), (o.LIST_TRADES, o.ListTrades, list_trades),
        (o.GET_TRADE, o.FillRef, get_trade),
    ):
        ep(subject, model, fn)


class OrderLimiter:
    """Per-account manual order rate limit in Redis (ARCHITECTURE.md §5)."""

    def __init__(self, redis, key, per_second: int) -> None:
        self._redis = redis
        self._key = key
        self._limit = per_second

    async def check(self, account_id: str) -> None:
        """Refuse the request when the account already sent its share this second."""
        key = self._key("orders", account_id, str(int(time.time())))
        count = await self._redis.incr(key)
        if count == 1:
            await self._redis.expire(key, 2)
        if count > self._limit:
            raise RateLimited("Too many orders on this account", retry_after_s=1)

"""Requests to the services execution depends on (backtest, brokerage, marketdata)."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import backtest as bt
from contracts import brokerage as br
from contracts import headers as h
from contracts import marketdata as md
from contracts import orders as od
from contracts.events.marketdata import Bar
from contracts.types import rupees_to_paise
from nats.aio.client import Client
from svckit.nats import request

_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 375}


def as_user(user_id: str, verified: bool = True) -> dict[str, str]:
    """Return headers that make a request on behalf of a user."""
    out = {h.USER_ID: user_id}
    if verified:
        out[h.EMAIL_VERIFIED] = "true"
    return out


class Clients:
    """Typed requests to other services; every call names the acting user."""

    def __init__(self, nc: Client, timeout_s: float = 5.0) -> None:
        self.nc = nc
        self.timeout_s = timeout_s

    async def strategy(self, user_id: str, strategy_id: str, version: int | None) -> bt.Strategy:
        """Return a pinned strategy version."""
        return await request(self.nc, bt.GET_STRATEGY, bt.GetStrategy(id=strategy_id, version=version),
                             reply_model=bt.Strategy, headers=as_user(user_id), timeout=self.timeout_s)

    async def account(self, user_id: str, account_id: str) -> br.Account:
        """Return a linked account of the user."""
        return await request(self.nc, br.GET_ACCOUNT, br.AccountRef(account_id=account_id),
                             reply_model=br.Account, headers=as_user(user_id), timeout=self.timeout_s)

    async def test_account(self, user_id: str, account_id: str) -> br.ConnectionTest:
        """Round-trip to the broker with the account's token."""
        return await request(self.nc, br.TEST_ACCOUNT, br.AccountRef(account_id=account_id),
                             reply_model=br.ConnectionTest, headers=as_user(user_id),
                             timeout=self.timeout_s * 2)

    async def instrument(self, segment: str, security_id: str) -> md.Instrument:
        """Return one instrument of the master."""
        return await request(self.nc, md.INSTRUMENT_BY_ID,
                             md.InstrumentRef(segment=segment, security_id=security_id),
                             reply_model=md.Instrument, timeout=self.timeout_s)

    async def history(self, segment: str, security_id: str, interval: str, bars: int,
                      until: datetime) -> list[Bar]:
        """Return up to `bars` closed bars before `until`, oldest first (calendar days searched back)."""
        minutes = _MINUTES.get(interval, 1)
        days = max(3, int(bars * minutes / 375 * 7 / 5) + 3)
        q = md.GetHistory(segment=segment, security_id=security_id, interval=interval,
                          **{"from": until - timedelta(days=days)}, to=until)
        hist = await request(self.nc, md.GET_HISTORY, q, reply_model=md.History,
                             timeout=self.timeout_s * 2)
        step = timedelta(minutes=minutes) if interval != "1d" else timedelta(days=1)
        out = [Bar(event_id="", ts_event=c.ts + step, ts_init=c.ts + step, interval=interval,
                   segment=segment, security_id=security_id, start=c.ts, end=c.ts + step,
                   open=rupees_to_paise(c.open), high=rupees_to_paise(c.high),
                   low=rupees_to_paise(c.low), close=rupees_to_paise(c.close), volume=c.volume)
               for c in hist.candles if c.ts + step <= until]
        return out[-bars:]

    async def is_open(self, segment: str, at: datetime) -> bool:
        """Ask the calendar whether the segment's normal session runs at `at`."""
        seg = segment if segment in md.Segment.__args__ else "NSE_EQ"  # type: ignore[attr-defined]
        s = await request(self.nc, md.MARKET_OPEN, md.MarketOpenQuery(segment=seg, at=at),
                          reply_model=md.MarketSession, timeout=self.timeout_s)
        return s.open

    async def lease(self, owner: str, instruments: list[tuple[str, str]], ttl_s: int) -> None:
        """Keep instruments on the live feed."""
        refs = [md.InstrumentRef(segment=s, security_id=i) for s, i in instruments]
        await request(self.nc, md.LEASE, md.LeaseInstruments(owner=owner, instruments=refs,
                                                             ttl_s=ttl_s), timeout=self.timeout_s)

    async def release(self, owner: str) -> None:
        """Drop this replica's feed leases."""
        await request(self.nc, md.RELEASE, md.ReleaseInstruments(owner=owner), timeout=self.timeout_s)

    async def positions(self, user_id: str, account_id: str) -> br.PositionList:
        """Return the broker's positions of one account."""
        return await request(self.nc, br.PORTFOLIO_POSITIONS, br.PortfolioQuery(account_id=account_id),
                             reply_model=br.PositionList, headers=as_user(user_id),
                             timeout=self.timeout_s)

    async def cancel(self, user_id: str, order_id: str) -> None:
        """Cancel one open order."""
        await request(self.nc, od.CANCEL_ORDER, od.OrderRef(order_id=order_id),
                      headers=as_user(user_id), timeout=self.timeout_s)

    async def broker_kill(self, user_id: str, account_id: str) -> br.KillSwitchState:
        """Switch the broker-side kill switch of one account on."""
        return await request(self.nc, br.KILL_SWITCH,
                             br.SetKillSwitch(account_id=account_id, activate=True),
                             reply_model=br.KillSwitchState, headers=as_user(user_id),
                             timeout=self.timeout_s * 2)

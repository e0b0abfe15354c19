"""The simulator's state: clock, instruments, prices, exchange, tokens, faults and sockets."""

from __future__ import annotations

import itertools

from dhansim.auth import TokenBook
from dhansim.clock import SimClock
from dhansim.engine import Exchange
from dhansim.faults import Faults
from dhansim.instruments import InstrumentMaster
from dhansim.market import Market
from dhansim.prices import PriceLibrary
from dhansim.ratelimit import RateLimiter
from dhansim.settings import Settings

DEFAULT_FUNDS = 1_000_000.0


class Simulator:
    """Everything one simulator process owns; servers are thin layers over it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = SimClock(anchor_sim=settings.start, speed=settings.speed)
        self.master = InstrumentMaster.load()
        self.prices = PriceLibrary(self.master, settings.data_dir, settings.seed)
        self.market = Market(self.master, self.prices, self.clock)
        self.exchange = Exchange(self.market)
        self.tokens = TokenBook()
        self.faults = Faults()
        self.limiter = RateLimiter(enabled=settings.rate_limits)
        self._client_ids = itertools.count(1100000001)
        # Socket hubs register themselves here when their servers start.
        self.feed_hub = None
        self.order_hub = None

    def create_client(self, funds: float = DEFAULT_FUNDS, holdings: list[dict] | None = None,
                      redirect_url: str = "", name: str = "SIM CLIENT") -> dict:
        """Create a simulated Dhan client and return its id, token and API key pair."""
        client_id = str(next(self._client_ids))
        self.exchange.add_account(client_id, funds, holdings, name)
        creds = self.tokens.register(client_id, redirect_url)
        return {"dhanClientId": client_id, "accessToken": creds.token,
                "apiKey": creds.api_key, "apiSecret": creds.api_secret}

"""In-process simulator for other services' tests: `async with run_simulator() as sim`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dhansim.clock import DEFAULT_START, parse_iso
from dhansim.core import DEFAULT_FUNDS, Simulator
from dhansim.server import Servers
from dhansim.settings import Settings, find_data_dir


@dataclass
class SimHandle:
    """A running simulator on loopback with helpers for tests."""

    sim: Simulator
    rest_url: str
    feed_url: str
    order_url: str

    @property
    def api_base(self) -> str:
        """Return the Dhan REST base (rest_url + '/v2')."""
        return self.rest_url + "/v2"

    @property
    def auth_url(self) -> str:
        """Return the auth host (consent flow); it is served by the REST server."""
        return self.rest_url

    @property
    def scrip_master_url(self) -> str:
        """Return the URL of the compact instrument master CSV."""
        return self.rest_url + "/api-data/api-scrip-master.csv"

    def create_client(self, funds: float = DEFAULT_FUNDS, holdings: list[dict] | None = None,
                      redirect_url: str = "") -> tuple[str, str]:
        """Create a client and return (dhan_client_id, access_token)."""
        made = self.sim.create_client(funds, holdings, redirect_url)
        return made["dhanClientId"], made["accessToken"]

    def set_clock(self, at: datetime | str | None = None, speed: float | None = None,
                  paused: bool | None = None) -> dict:
        """Set the market clock (naive or string times are IST) and return its JSON."""
        when = parse_iso(at) if isinstance(at, str) else at
        self.sim.clock.set(at=when, speed=speed, paused=paused)
        self.sim.exchange.step()
        return self.sim.clock.to_json()


@contextlib.asynccontextmanager
async def run_simulator(start: datetime | str = DEFAULT_START, speed: float = 1.0,
                        paused: bool = False, seed: int = 0, data_dir: Path | None = None,
                        rate_limits: bool = True, host: str = "127.0.0.1",
                        feed_interval: float = 0.05) -> AsyncIterator[SimHandle]:
    """Start REST, feed and order servers on free loopback ports; stop them on exit."""
    settings = Settings(host=host, rest_port=0, feed_port=0, order_port=0,
                        data_dir=data_dir or find_data_dir(), seed=seed,
                        start=parse_iso(start) if isinstance(start, str) else start,
                        speed=speed, rate_limits=rate_limits, feed_interval=feed_interval)
    sim = Simulator(settings)
    if paused:
        sim.clock.set(at=settings.start, paused=True)
    servers = Servers(sim)
    await servers.start()
    try:
        yield SimHandle(sim, servers.url("rest", "http"), servers.url("feed", "ws"),
                        servers.url("order", "ws"))
    finally:
        await servers.stop()

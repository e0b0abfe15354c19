"""Assemble and run the three servers (REST+auth, market feed, order updates) and the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from dhansim import admin, rest_auth, rest_data, rest_trading
from dhansim.core import Simulator
from dhansim.feed_server import FeedHub
from dhansim.order_socket import OrderHub
from dhansim.web import SIM_KEY, dhan_middleware

log = logging.getLogger("dhansim")


def build_rest_app(sim: Simulator) -> web.Application:
    """Return the REST application (Dhan /v2, auth host paths, /sim admin, CSV files)."""
    app = web.Application(middlewares=[dhan_middleware])
    app[SIM_KEY] = sim
    for table in (rest_trading.routes, rest_data.routes, rest_auth.routes, admin.routes):
        app.add_routes(table)
    return app


def _socket_app(handler) -> web.Application:
    app = web.Application()
    # Dhan's feed and order sockets live at the host root; accept any path for robustness.
    app.router.add_get("/{tail:.*}", handler)
    return app


class Servers:
    """The running simulator: bound ports and the tasks that drive it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.feed_hub = FeedHub(sim)
        self.order_hub = OrderHub(sim)
        self._runners: list[web.AppRunner] = []
        self._engine: asyncio.Task | None = None
        self.ports: dict[str, int] = {}

    async def start(self) -> None:
        """Bind the three servers and start the matching loop."""
        s = self.sim.settings
        apps = {"rest": (build_rest_app(self.sim), s.rest_port),
                "feed": (_socket_app(self.feed_hub.handle), s.feed_port),
                "order": (_socket_app(self.order_hub.handle), s.order_port)}
        for name, (app, port) in apps.items():
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, s.host, port, reuse_address=True)
            await site.start()
            self._runners.append(runner)
            self.ports[name] = site._server.sockets[0].getsockname()[1]
        self._engine = asyncio.create_task(self.sim.exchange.run(s.step_interval))
        log.info("dhansim listening: %s", self.ports)

    async def stop(self) -> None:
        """Stop the engine and close every server and socket."""
        if self._engine:
            self._engine.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._engine
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def url(self, name: str, scheme: str) -> str:
        """Return the base URL of one server."""
        return f"{scheme}://{self.sim.settings.host}:{self.ports[name]}"

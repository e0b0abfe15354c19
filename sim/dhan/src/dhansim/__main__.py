"""Run the simulator: `python -m dhansim [--rest-port 8600 ...]`."""

from __future__ import annotations

import asyncio
import logging
import signal

from dhansim.core import Simulator
from dhansim.server import Servers
from dhansim.settings import Settings


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT."""
    servers = Servers(Simulator(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await servers.start()
    try:
        await stop.wait()
    finally:
        await servers.stop()


def main() -> None:
    """Entry point of the dhansim command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(Settings.from_args()))


if __name__ == "__main__":
    main()

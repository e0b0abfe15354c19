"""List and delete JetStream streams on a shared test NATS server."""

from __future__ import annotations

import nats


async def stream_names(url: str) -> set[str]:
    """Return the names of all streams on the server."""
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        return {s.config.name for s in await nc.jetstream().streams_info() if s.config.name}
    finally:
        await nc.close()


async def delete_streams_except(url: str, keep: set[str]) -> None:
    """Delete every stream whose name is not in `keep`."""
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name not in keep:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()

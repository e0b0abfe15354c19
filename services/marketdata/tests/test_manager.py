"""Spreading instruments over feed connections within Dhan's limits (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from marketdata.dhan.feed import FULL, TICKER
from marketdata.dhan.manager import FeedManager


async def _nothing(*_args) -> None:
    return None


async def test_instruments_fill_connections_up_to_the_limits_and_overflow_is_reported():
    # Port 9 (discard) refuses connections: the sockets just back off in the background.
    feed = FeedManager("ws://127.0.0.1:9", _nothing, _nothing, lambda: datetime.now(UTC),
                       max_connections=2, per_connection=3, per_message=2)
    try:
        wanted = {("NSE_EQ", str(i)) for i in range(7)} | {("IDX_I", "13")}
        await feed.set_wanted(wanted)
        sizes = sorted(len(c.instruments) for c in feed.connections)
        assert sizes == [3, 3] and len(feed.overflow) == 2
        assert feed.mode_for(("IDX_I", "13")) == TICKER and feed.mode_for(("NSE_EQ", "1")) == FULL
        await feed.set_wanted({("NSE_EQ", "0"), ("NSE_EQ", "1")})
        assert sum(len(c.instruments) for c in feed.connections) == 2 and not feed.overflow
        assert len(feed.connections) == 2, "sockets are reused, never churned"
    finally:
        await feed.stop()

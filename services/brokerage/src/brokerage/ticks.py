"""Live ticks for the paper exchange: core NATS `md.tick.<segment>.<securityId>`.

The wire shape this reads (published by marketdata; see the README): a JSON object with
`ltp` and optional `bid`, `ask`, `bidQty`, `askQty`. Integer prices are paise; strings and
floats are rupees. Unknown fields are ignored.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from contracts import subjects
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from svckit.logging import get_logger

from .adapters.paper.broker import PaperExchange
from .adapters.paper.matching import Quote

log = get_logger(__name__)


def _price(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value) / 100
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price if price > 0 else None


def _qty(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value > 0 else None


def decode_tick(data: bytes) -> Quote | None:
    """Decode one tick message into a quote, or None when it has no usable price."""
    try:
        d = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(d, dict):
        return None
    ltp = _price(d.get("ltp", d.get("lastPrice")))
    if ltp is None:
        return None
    return Quote(ltp=ltp, bid=_price(d.get("bid")), ask=_price(d.get("ask")),
                 bid_qty=_qty(d.get("bidQty")), ask_qty=_qty(d.get("askQty")))


class TickFeed:
    """Subscribe to the ticks of instruments with open paper orders, on demand."""

    def __init__(self, nc: Client, exchange: PaperExchange) -> None:
        self._nc = nc
        self._exchange = exchange
        self._subs: dict[tuple[str, str], Subscription] = {}

    async def ensure(self, segment: str, security_id: str) -> None:
        """Subscribe to one instrument's ticks (once)."""
        key = (segment, security_id)
        if key in self._subs:
            return

        async def on_msg(msg: Msg) -> None:
            quote = decode_tick(msg.data)
            if quote is not None:
                try:
                    await self._exchange.on_tick(segment, security_id, quote)
                except Exception:
                    log.exception("paper.tick_failed", segment=segment, security_id=security_id)

        self._subs[key] = await self._nc.subscribe(subjects.tick(segment, security_id), cb=on_msg)
        await self._nc.flush()

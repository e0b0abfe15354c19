"""Quote cache: the latest tick per instrument in memory, flushed to Redis with a short TTL.

Redis key `quote:<segment>:<securityId>` (under the deployment prefix) holds the msgspec JSON
of the latest `Tick`. A miss falls back to Dhan's REST quote; concurrent misses are coalesced
into one call per second (Dhan's quote limit, up to 1000 instruments a call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import msgspec
import redis.asyncio as aioredis
from contracts.events.marketdata import Tick
from svckit.logging import get_logger

from .dhan.packets import paise
from .dhan.rest import DhanError, DhanRest, parse_ltt

log = get_logger(__name__)
Key = tuple[str, str]
_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(Tick)


def tick_from_rest(key: Key, q: dict, now: datetime) -> Tick:
    """Turn one `/marketfeed/quote` entry into a Tick (prices in paise)."""
    ohlc = q.get("ohlc") or {}
    depth = q.get("depth") or {}
    bid = (depth.get("buy") or [{}])[0]
    ask = (depth.get("sell") or [{}])[0]
    ltt = parse_ltt(q.get("last_trade_time")) or now
    return Tick(event_id=f"rest-{key[0]}-{key[1]}-{int(now.timestamp() * 1000)}", ts_event=ltt,
                ts_init=now, segment=key[0], security_id=key[1],
                ltp=paise(float(q.get("last_price") or 0)), ltt=ltt,
                ltq=int(q.get("last_quantity") or 0), volume=int(q.get("volume") or 0),
                atp=paise(float(q.get("average_price") or 0)), oi=int(q.get("oi") or 0) or None,
                bid=paise(bid["price"]) if bid.get("quantity") else None,
                ask=paise(ask["price"]) if ask.get("quantity") else None,
                day_open=paise(float(ohlc.get("open") or 0)) or None,
                day_high=paise(float(ohlc.get("high") or 0)) or None,
                day_low=paise(float(ohlc.get("low") or 0)) or None,
                prev_close=paise(float(ohlc.get("close") or 0)) or None)


class QuoteCache:
    """Latest ticks, flushed to Redis in batches; REST fallback on a miss."""

    def __init__(self, redis: aioredis.Redis, key: Callable[..., str], ttl_s: int,
                 rest: DhanRest | None, now: Callable[[], datetime]) -> None:
        self._r = redis
        self._key = key
        self._ttl = ttl_s
        self._rest = rest
        self._now = now
        self.latest: dict[Key, Tick] = {}
        self._dirty: set[Key] = set()
        self._pending: dict[Key, list[asyncio.Future]] = {}
        self._wake = asyncio.Event()

    def update(self, tick: Tick) -> None:
        """Remember a tick (called for every feed tick; no I/O)."""
        key = (tick.segment, tick.security_id)
        self.latest[key] = tick
        self._dirty.add(key)

    async def flush(self) -> int:
        """Write changed quotes to Redis; return how many."""
        if not self._dirty:
            return 0
        dirty, self._dirty = self._dirty, set()
        pipe = self._r.pipeline(transaction=False)
        for key in dirty:
            pipe.set(self._key("quote", *key), _enc.encode(self.latest[key]), ex=self._ttl)
        await pipe.execute()
        return len(dirty)

    async def run_flusher(self, every_s: float) -> None:
        """Flush forever (a background task)."""
        while True:
            await asyncio.sleep(every_s)  # batching period, not a wait for an event
            try:
                await self.flush()
            except (aioredis.RedisError, OSError) as exc:
                log.warning("quotes.flush_failed", error=str(exc))

    async def get(self, key: Key) -> tuple[Tick | None, str]:
        """Return the cached quote or Dhan's REST quote, with its source."""
        raw = await self._r.get(self._key("quote", *key))
        if raw:
            return _dec.decode(raw), "feed"
        tick = await self.fetch_rest([key])
        return tick.get(key), "dhan"

    async def fetch_rest(self, keys: list[Key]) -> dict[Key, Tick]:
        """Fetch quotes from Dhan (coalesced and paced), caching what comes back."""
        if self._rest is None:
            return {}
        loop = asyncio.get_running_loop()
        futs = []
        for key in keys:
            fut = loop.create_future()
            self._pending.setdefault(key, []).append(fut)
            futs.append((key, fut))
        self._wake.set()
        out = {}
        for key, fut in futs:
            tick = await fut
            if tick is not None:
                out[key] = tick
        return out

    async def run_rest_batcher(self) -> None:
        """Serve REST quote misses in batches of up to 1000, one call per pacing slot."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = dict(list(self._pending.items())[:1000])
                for key in batch:
                    self._pending.pop(key)
                got: dict[Key, dict] = {}
                try:
                    got = await self._rest.quotes(list(batch))  # type: ignore[union-attr]
                except DhanError as exc:
                    log.warning("quotes.rest_failed", error=str(exc))
                now = self._now()
                pipe = self._r.pipeline(transaction=False)
                for key, futs in batch.items():
                    tick = tick_from_rest(key, got[key], now) if key in got else None
                    if tick is not None:
                        pipe.set(self._key("quote", *key), _enc.encode(tick), ex=self._ttl)
                    for fut in futs:
                        if not fut.done():
                            fut.set_result(tick)
                await pipe.execute()

"""Dhan's data REST APIs (API.md §5.10-5.11, §12): quotes and charts, paced and retried.

Pacing follows API.md §7.1: quote APIs 1 request/s (requests coalesced, up to 1000
instruments each), data APIs 5/s. 429/5xx/network errors retry with backoff and jitter;
authentication failures (401, DH-901, 807-810) are never retried.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

IST = ZoneInfo("Asia/Kolkata")
INTRADAY_MAX_DAYS = 90
DAILY_MAX_DAYS = 365
DHAN_INTERVAL = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}
AUTH_CODES = {"DH-901", "807", "808", "809", "810"}
Candle = tuple[int, int, int, int, int, int, int | None]  # start epoch, o, h, l, c paise, volume, oi


class DhanError(Exception):
    """Dhan refused or failed a request."""


class DhanAuthError(DhanError):
    """The data token is invalid or expired: stop and alert, never retry."""


class Pacer:
    """Space calls at least `1/rate` seconds apart (Dhan counts per second)."""

    def __init__(self, rate_per_s: float) -> None:
        self._gap = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()
        self.calls = 0

    async def wait(self) -> None:
        """Wait for this caller's slot."""
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)  # pacing, not waiting for an event
            self._next = max(now, self._next) + self._gap
            self.calls += 1


class DhanRest:
    """The subset of Dhan's REST API market data needs."""

    def __init__(self, api_base: str, client_id: str, token: str, *, quote_rate: float = 1.0,
                 data_rate: float = 5.0, timeout: float = 15.0, retries: int = 4) -> None:
        self._http = httpx.AsyncClient(base_url=api_base.rstrip("/"), timeout=timeout, headers={
            "access-token": token, "client-id": client_id, "Accept": "application/json",
            "Content-Type": "application/json"})
        self.client_id = client_id
        self.quote_pacer = Pacer(quote_rate)
        self.data_pacer = Pacer(data_rate)
        self._retries = retries

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def _post(self, path: str, body: dict, pacer: Pacer) -> Any:
        body = {"dhanClientId": self.client_id, **body}
        for attempt in range(self._retries + 1):
            await pacer.wait()
            try:
                resp = await self._http.post(path, json=body)
            except httpx.TransportError as exc:
                if attempt == self._retries:
                    raise DhanError(f"{path}: {exc}") from exc
                await _backoff(attempt)
                continue
            if resp.status_code < 300:
                return resp.json()
            text = resp.text
            if resp.status_code in (401, 403) or any(code in text for code in AUTH_CODES):
                raise DhanAuthError(f"{path}: {resp.status_code} {text[:200]}")
            if (resp.status_code == 429 or resp.status_code >= 500) and attempt < self._retries:
                await _backoff(attempt)
                continue
            raise DhanError(f"{path}: {resp.status_code} {text[:200]}")
        raise DhanError(f"{path}: retries exhausted")

    async def quotes(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Return Dhan's quote dicts for up to 1000 instruments (missing ones are absent)."""
        body: dict[str, list[int]] = {}
        for seg, sid in keys:
            body.setdefault(seg, []).append(int(sid))
        data = (await self._post("/marketfeed/quote", body, self.quote_pacer)).get("data") or {}
        return {(seg, str(sid)): q for seg, per in data.items() if isinstance(per, dict)
                for sid, q in per.items()}

    async def intraday(self, seg: str, sid: str, instrument: str, interval: str,
                       start: date, end: date) -> list[Candle]:
        """Return minute candles for IST dates [start, end], paging under the 90-day limit."""
        out: list[Candle] = []
        for lo, hi in day_chunks(start, end, INTRADAY_MAX_DAYS):
            body = {"securityId": sid, "exchangeSegment": seg, "instrument": instrument,
                    "interval": DHAN_INTERVAL[interval], "oi": seg.endswith("FNO"),
                    "fromDate": f"{lo} 00:00:00", "toDate": f"{hi} 23:59:59"}
            out += parse_candles(await self._post("/charts/intraday", body, self.data_pacer))
        return out

    async def daily(self, seg: str, sid: str, instrument: str, start: date, end: date) -> list[Candle]:
        """Return daily candles for IST dates [start, end] (Dhan's toDate is exclusive)."""
        out: list[Candle] = []
        for lo, hi in day_chunks(start, end, DAILY_MAX_DAYS):
            body = {"securityId": sid, "exchangeSegment": seg, "instrument": instrument,
                    "expiryCode": 0, "oi": False, "fromDate": str(lo),
                    "toDate": str(hi + timedelta(days=1))}
            out += parse_candles(await self._post("/charts/historical", body, self.data_pacer))
        return out


def day_chunks(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Split [start, end] into inclusive date ranges of at most `max_days` days."""
    out = []
    lo = start
    while lo <= end:
        hi = min(end, lo + timedelta(days=max_days - 1))
        out.append((lo, hi))
        lo = hi + timedelta(days=1)
    return out


def parse_candles(payload: dict) -> list[Candle]:
    """Turn Dhan's parallel arrays into candle tuples (prices in paise)."""
    ts = payload.get("timestamp") or []
    oi = payload.get("open_interest") or [None] * len(ts)
    cols = [payload.get(k) or [] for k in ("open", "high", "low", "close", "volume")]
    return [(int(t), round(o * 100), round(h * 100), round(lo * 100), round(c * 100), int(v), i)
            for t, o, h, lo, c, v, i in zip(ts, *cols, oi)]


def parse_ltt(text: str | None) -> datetime | None:
    """Parse the quote API's `DD/MM/YYYY HH:MM:SS` IST time (1980 means no trade)."""
    if not text or text.startswith("01/01/1980"):
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=IST).astimezone(UTC)
    except ValueError:
        return None


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(min(8.0, 0.25 * 2 ** attempt) * (0.5 + random.random()))


async def sim_client(rest_root: str, timeout: float = 10.0) -> tuple[str, str]:
    """Create a data client on the Dhan simulator (POST /sim/clients); local demo only."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        resp = await http.post(rest_root.rstrip("/") + "/sim/clients", json={"name": "MARKETDATA"})
        resp.raise_for_status()
        made = resp.json()
    return str(made["dhanClientId"]), str(made["accessToken"])

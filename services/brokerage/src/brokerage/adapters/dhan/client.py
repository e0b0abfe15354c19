"""Dhan REST on the wire: headers, pacing, circuit breaker, retries with jittered backoff.

Only idempotent calls (reads) are retried here. A non-idempotent call (placing an order)
is sent once; when its outcome is unknown the caller must ask Dhan by correlation id
before anything else (ARCHITECTURE.md §4).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from svckit.logging import get_logger

from ..base import BrokerError, BrokerRetryable, BrokerUnknownOutcome
from ..resilience import CircuitBreaker, CircuitOpen, Pacer, backoff
from .errors import classify

log = get_logger(__name__)

ORDER, DATA, QUOTE, NON_TRADING = "order", "data", "quote", "non_trading"


def dhan_limits(order_per_s: int = 10, order_per_min: int = 250,
                non_trading_per_s: int = 20) -> dict[str, list[tuple[int, float]]]:
    """Return Dhan's per-category limits (API.md §7.1) as pacing windows."""
    return {ORDER: [(order_per_s, 1.0), (order_per_min, 60.0), (1000, 3600.0), (7000, 86400.0)],
            DATA: [(5, 1.0)], QUOTE: [(1, 1.0)], NON_TRADING: [(non_trading_per_s, 1.0)]}


class DhanClient:
    """One Dhan client id + access token over one pooled httpx client."""

    def __init__(self, base_url: str, client_id: str, access_token: str, *,
                 timeout_s: float = 10.0, pacer: Pacer | None = None,
                 breaker: CircuitBreaker | None = None, attempts: int = 4,
                 backoff_base_s: float = 0.2, backoff_cap_s: float = 3.0,
                 on_circuit_open: Callable[[], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client_id = client_id
        self.pacer = pacer or Pacer(dhan_limits())
        self.breaker = breaker or CircuitBreaker()
        self._attempts = max(1, attempts)
        self._base, self._cap = backoff_base_s, backoff_cap_s
        self._on_open = on_circuit_open
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport,
            headers={"access-token": access_token, "client-id": client_id,
                     "Content-Type": "application/json", "Accept": "application/json"})

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(self, method: str, path: str, *, category: str = NON_TRADING,
                   json: Any = None, params: dict[str, str] | None = None,
                   idempotent: bool = True) -> Any:
        """Send one request (retrying reads on transient failures) and return the JSON."""
        attempts = self._attempts if idempotent else 1
        for attempt in range(attempts):
            try:
                return await self._once(method, path, category, json, params, idempotent)
            except BrokerRetryable as exc:
                if isinstance(exc, BrokerUnknownOutcome) or attempt + 1 >= attempts \
                        or exc.code == "CIRCUIT_OPEN":
                    raise
                await asyncio.sleep(backoff(attempt, self._base, self._cap))
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, category: str, json: Any,
                    params: dict[str, str] | None, idempotent: bool) -> Any:
        try:
            self.breaker.before()
        except CircuitOpen as exc:
            raise BrokerRetryable(str(exc), code="CIRCUIT_OPEN") from exc
        await self.pacer.acquire(category)
        try:
            resp = await self._http.request(method, path, json=json, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._failed()
            raise BrokerRetryable(f"cannot reach Dhan: {type(exc).__name__}",
                                  code="NETWORK") from exc
        except httpx.HTTPError as exc:
            self._failed()
            if idempotent:
                raise BrokerRetryable(f"no answer from Dhan: {type(exc).__name__}",
                                      code="NETWORK") from exc
            raise BrokerUnknownOutcome(f"no answer from Dhan: {type(exc).__name__}",
                                       answered=False, code="NETWORK") from exc
        if resp.is_success:
            self.breaker.success()
            return resp.json() if resp.content.strip() else None
        body: Any
        try:
            body = resp.json()
        except ValueError:
            body = None
        err: BrokerError = classify(resp.status_code, body, idempotent=idempotent)
        if resp.status_code >= 500 and isinstance(err, BrokerRetryable):
            self._failed()
        else:
            self.breaker.success()
        raise err

    def _failed(self) -> None:
        if self.breaker.failure():
            log.warning("dhan.circuit_opened", client_id_tail=self.client_id[-4:])
            if self._on_open:
                self._on_open()

"""Test helpers for the brokerage and for cross-service tests: settings, polling, requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from contracts import headers as h
from svckit.nats import request

from .crypto import KeyRing
from .settings import BrokerageSettings


async def until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05):
    """Poll an (async or sync) predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(interval)


def user_headers(user_id: str, verified: bool = True) -> dict[str, str]:
    """Headers the gateway would add for an authenticated user."""
    out = {h.USER_ID: user_id, h.REQUEST_ID: f"req-{user_id}"}
    if verified:
        out[h.EMAIL_VERIFIED] = "true"
    return out


def make_settings(sim, nats_url: str, dsn: str, redis_url: str, redis_prefix: str,
                  **overrides: Any) -> BrokerageSettings:
    """Return test settings pointing at a simulator handle and the test's servers."""
    values: dict[str, Any] = {
        "environment": "test", "nats_url": nats_url, "database_url": dsn, "redis_url": redis_url,
        "redis_prefix": redis_prefix, "credential_keys": KeyRing.generate("k1"),
        "dhan_api_base": sim.api_base, "dhan_auth_base": sim.auth_url,
        "dhan_order_ws_url": sim.order_url, "clock_url": sim.rest_url + "/sim/clock",
        "settle_s": 1.5, "reconcile_interval_s": 0.3, "backoff_base_s": 0.05,
        "backoff_cap_s": 0.2, "stale_intent_s": 30.0, "log_json": True}
    values.update(overrides)
    return BrokerageSettings(**values)


async def call(nc, subject: str, body: Any, user: str, verified: bool = True,
               timeout: float = 15.0) -> Any:
    """Send a request as a user and return the decoded reply (raises RemoteError)."""
    return await request(nc, subject, body, headers=user_headers(user, verified), timeout=timeout)


def order_intent(account_id: str, user_id: str, ts_event: Any, *, intent_id: str | None = None,
                 security_id: str = "2885", quantity: int = 1, side: str = "BUY",
                 order_type: str = "MARKET", price_paise: int | None = None,
                 product: str = "INTRADAY", deployment_id: str | None = "dep-1") -> Any:
    """Build an OrderIntent as execution would publish it."""
    from contracts.events import new_event_fields
    from contracts.events.orders import OrderIntent
    from contracts.orders import make_intent_id
    from contracts.types import new_id

    return OrderIntent(**new_event_fields(ts_event, ts_event),
                       intent_id=intent_id or make_intent_id(new_id()), user_id=user_id,
                       account_id=account_id, deployment_id=deployment_id,
                       security_id=security_id, exchange_segment="NSE_EQ",
                       transaction_type=side, quantity=quantity, order_type=order_type,
                       product_type=product, price=price_paise)


async def publish_intent(js: Any, intent: Any, msg_id: str | None = None) -> None:
    """Publish an intent to ORDERS the way execution does (Nats-Msg-Id = intent id)."""
    from contracts import subjects
    from contracts.events import encode

    await js.publish(subjects.order_intent(intent.account_id), encode(intent),
                     headers={h.MSG_ID: msg_id or intent.intent_id})

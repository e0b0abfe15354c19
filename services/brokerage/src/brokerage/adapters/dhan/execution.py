"""The Dhan implementation of `BrokerAdapter` on top of the wire client."""

from __future__ import annotations

from ..base import (
    BrokerHolding,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTrade,
    Funds,
    OrderChange,
    OrderRequest,
    Profile,
)
from . import parsing as p
from .client import NON_TRADING, ORDER, DhanClient


class DhanAdapter:
    """One linked Dhan account."""

    def __init__(self, client: DhanClient) -> None:
        self.client = client

    async def place(self, req: OrderRequest) -> BrokerOrder:
        """POST /orders once (never retried here)."""
        body = await self.client.call("POST", "/orders", category=ORDER, idempotent=False,
                                      json=p.place_body(req, self.client.client_id))
        return BrokerOrder(broker_order_id=str(body.get("orderId") or ""),
                           status=str(body.get("orderStatus") or "TRANSIT").upper(),
                           correlation_id=req.correlation_id,
                           security_id=req.security_id, exchange_segment=req.exchange_segment,
                           transaction_type=req.transaction_type, quantity=req.quantity)

    async def find_by_correlation(self, correlation_id: str) -> BrokerOrder | None:
        """GET /orders/external/{correlationId}; Dhan answers 404 DH-906 when there is none."""
        try:
            body = await self.client.call("GET", f"/orders/external/{correlation_id}",
                                          category=NON_TRADING)
        except BrokerRejected as exc:
            if exc.status == 404 or exc.code == "DH-906":
                return None
            raise
        return p.parse_order_reply(body)

    async def get_order(self, broker_order_id: str) -> BrokerOrder | None:
        """GET /orders/{id} (an empty array for unknown ids)."""
        return p.parse_order_reply(await self.client.call("GET", f"/orders/{broker_order_id}"))

    async def modify(self, broker_order_id: str, change: OrderChange,
                     current: BrokerOrder) -> BrokerOrder:
        """PUT /orders/{id}."""
        body = await self.client.call(
            "PUT", f"/orders/{broker_order_id}", category=ORDER, idempotent=False,
            json=p.modify_body(broker_order_id, change, current, self.client.client_id))
        return BrokerOrder(broker_order_id=broker_order_id,
                           status=str(body.get("orderStatus") or "TRANSIT").upper())

    async def cancel(self, broker_order_id: str) -> BrokerOrder:
        """DELETE /orders/{id} (Dhan answers 200 or 202)."""
        body = await self.client.call("DELETE", f"/orders/{broker_order_id}", category=ORDER,
                                      idempotent=False)
        return BrokerOrder(broker_order_id=broker_order_id,
                           status=str((body or {}).get("orderStatus") or "CANCELLED").upper())

    async def orders(self) -> list[BrokerOrder]:
        """GET /orders."""
        return [p.parse_order(d) for d in await self.client.call("GET", "/orders") or []]

    async def trades(self, broker_order_id: str | None = None) -> list[BrokerTrade]:
        """GET /trades or /trades/{orderId}."""
        path = f"/trades/{broker_order_id}" if broker_order_id else "/trades"
        return [p.parse_trade(d) for d in await self.client.call("GET", path) or []]

    async def positions(self) -> list[BrokerPosition]:
        """GET /positions."""
        return [p.parse_position(d) for d in await self.client.call("GET", "/positions") or []]

    async def holdings(self) -> list[BrokerHolding]:
        """GET /holdings; live Dhan answers an empty portfolio with 500 DH-1111."""
        try:
            rows = await self.client.call("GET", "/holdings")
        except BrokerRejected as exc:
            if exc.code == "DH-1111":
                return []
            raise
        return [p.parse_holding(d) for d in rows or []]

    async def funds(self) -> Funds:
        """GET /fundlimit."""
        return p.parse_funds(await self.client.call("GET", "/fundlimit") or {})

    async def profile(self) -> Profile:
        """GET /profile."""
        return p.parse_profile(await self.client.call("GET", "/profile") or {})

    async def kill_switch(self, activate: bool) -> bool:
        """POST /killswitch?killSwitchStatus=ACTIVATE|DEACTIVATE."""
        status = "ACTIVATE" if activate else "DEACTIVATE"
        await self.client.call("POST", "/killswitch", category=ORDER, idempotent=False,
                               params={"killSwitchStatus": status})
        return activate

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self.client.close()

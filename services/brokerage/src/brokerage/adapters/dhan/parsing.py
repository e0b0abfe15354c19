"""Pure mapping between Dhan's JSON (API.md §5, §10) and the adapter's typed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ..base import (
    BrokerHolding,
    BrokerOrder,
    BrokerPosition,
    BrokerTrade,
    Funds,
    OrderChange,
    OrderRequest,
    Profile,
)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
_NO_TIME = ("", "NA", "0001-01-01 00:00:00", "0001-01-01")
_ALERT_STATUS = {"PART_TRADED": "PART_TRADED", "PARTTRADED": "PART_TRADED",
                 "PARTIALLY_TRADED": "PART_TRADED"}
_ALERT_TYPES = {"LMT": "LIMIT", "MKT": "MARKET", "SL": "STOP_LOSS", "SLM": "STOP_LOSS_MARKET"}
_ALERT_SIDE = {"B": "BUY", "S": "SELL"}
_SEGMENT = {("NSE", "E"): "NSE_EQ", ("NSE", "D"): "NSE_FNO", ("NSE", "C"): "NSE_CURRENCY",
            ("BSE", "E"): "BSE_EQ", ("BSE", "D"): "BSE_FNO", ("BSE", "C"): "BSE_CURRENCY",
            ("MCX", "M"): "MCX_COMM"}


def money(value: Any) -> Decimal | None:
    """Convert a wire float/string to an exact Decimal (4 places), or None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.0001")).normalize()
    except (InvalidOperation, ValueError):
        return None


def integer(value: Any) -> int:
    """Convert a wire int (possibly a string or float) to int; junk is 0."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def ist_time(value: Any) -> datetime | None:
    """Parse `YYYY-MM-DD HH:MM:SS` IST into an aware UTC datetime."""
    if not isinstance(value, str) or value.strip() in _NO_TIME:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=IST).astimezone(UTC)
    except ValueError:
        return None


def _wire_price(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def place_body(req: OrderRequest, client_id: str) -> dict[str, Any]:
    """Build a POST /orders body; unused keys are omitted, never empty strings (API.md §3)."""
    body: dict[str, Any] = {
        "dhanClientId": client_id, "correlationId": req.correlation_id,
        "transactionType": req.transaction_type, "exchangeSegment": req.exchange_segment,
        "productType": req.product_type, "orderType": req.order_type,
        "validity": req.validity, "securityId": req.security_id, "quantity": req.quantity,
        "price": _wire_price(req.price) if req.order_type in ("LIMIT", "STOP_LOSS") else 0.0,
        "afterMarketOrder": False,
    }
    if req.order_type in ("STOP_LOSS", "STOP_LOSS_MARKET"):
        body["triggerPrice"] = _wire_price(req.trigger_price)
    return body


def modify_body(order_id: str, change: OrderChange, current: BrokerOrder,
                client_id: str) -> dict[str, Any]:
    """Build a PUT /orders/{id} body from a change and the order as it stands."""
    body: dict[str, Any] = {
        "dhanClientId": client_id, "orderId": order_id,
        "orderType": change.order_type or "LIMIT", "legName": "ENTRY_LEG",
        "quantity": change.quantity or current.quantity,
        "validity": change.validity or "DAY", "disclosedQuantity": 0,
    }
    if change.price is not None:
        body["price"] = float(change.price)
    if change.trigger_price is not None:
        body["triggerPrice"] = float(change.trigger_price)
    return body


def parse_order(d: dict[str, Any]) -> BrokerOrder:
    """Map an order-book object."""
    return BrokerOrder(
        broker_order_id=str(d.get("orderId") or ""),
        status=str(d.get("orderStatus") or "").upper(),
        correlation_id=str(d.get("correlationId") or ""),
        security_id=str(d.get("securityId") or ""),
        exchange_segment=str(d.get("exchangeSegment") or ""),
        transaction_type=str(d.get("transactionType") or ""),
        quantity=integer(d.get("quantity")),
        filled_quantity=integer(d.get("filledQty")),
        average_price=money(d.get("averageTradedPrice")) or None,
        reason=_reason(d.get("omsErrorDescription"), d.get("orderStatus")),
        updated_at=ist_time(d.get("updateTime")),
    )


def parse_order_reply(body: Any) -> BrokerOrder | None:
    """Map GET /orders/{id} or /orders/external/{cid}: object, one-element array or []."""
    if isinstance(body, list):
        body = body[-1] if body else None
    return parse_order(body) if isinstance(body, dict) and body.get("orderId") else None


def _reason(text: Any, status: Any) -> str | None:
    if str(status or "").upper() in ("REJECTED", "CANCELLED", "EXPIRED") and text:
        return str(text)
    return None


def _ci(d: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in d.items()}


def parse_alert(frame: dict[str, Any]) -> BrokerOrder | None:
    """Map an order-update socket frame (PascalCase, case varies; API.md §10)."""
    top = _ci(frame)
    if str(top.get("type") or "").lower() != "order_alert" or not isinstance(top.get("data"), dict):
        return None
    d = _ci(top["data"])
    order_id = str(d.get("orderno") or "")
    if not order_id:
        return None
    raw_status = str(d.get("status") or "").upper().replace(" ", "_")
    status = _ALERT_STATUS.get(raw_status, raw_status)
    seg = _SEGMENT.get((str(d.get("exchange") or ""), str(d.get("segment") or "")), "")
    return BrokerOrder(
        broker_order_id=order_id, status=status,
        correlation_id=str(d.get("correlationid") or ""),
        security_id=str(d.get("securityid") or ""), exchange_segment=seg,
        transaction_type=_ALERT_SIDE.get(str(d.get("txntype") or ""), ""),
        quantity=integer(d.get("quantity")), filled_quantity=integer(d.get("tradedqty")),
        average_price=money(d.get("avgtradedprice")) or None,
        last_fill_price=money(d.get("tradedprice")) or None,
        reason=_reason(d.get("reasondescription"), status),
        updated_at=ist_time(d.get("lastupdatedtime")),
    )


def split_frames(text: str) -> list[dict[str, Any]]:
    """Decode a text frame that may hold several concatenated JSON objects."""
    decoder, out, i = json.JSONDecoder(), [], 0
    text = text.strip()
    while i < len(text):
        obj, end = decoder.raw_decode(text, i)
        if isinstance(obj, dict):
            out.append(obj)
        i = end
        while i < len(text) and text[i] in " \r\n\t,":
            i += 1
    return out


def parse_trade(d: dict[str, Any]) -> BrokerTrade:
    """Map a trade-book object."""
    return BrokerTrade(
        broker_trade_id=str(d.get("exchangeTradeId") or ""),
        broker_order_id=str(d.get("orderId") or ""),
        security_id=str(d.get("securityId") or ""),
        exchange_segment=str(d.get("exchangeSegment") or ""),
        transaction_type=str(d.get("transactionType") or ""),
        product_type=str(d.get("productType") or ""),
        quantity=integer(d.get("tradedQuantity")),
        price=money(d.get("tradedPrice")) or Decimal(0),
        traded_at=ist_time(d.get("exchangeTime")) or ist_time(d.get("createTime"))
        or datetime.now(UTC),
    )


def parse_position(d: dict[str, Any]) -> BrokerPosition:
    """Map a positions object."""
    net = integer(d.get("netQty"))
    return BrokerPosition(
        security_id=str(d.get("securityId") or ""),
        exchange_segment=str(d.get("exchangeSegment") or ""),
        product_type=str(d.get("productType") or ""), net_quantity=net,
        buy_quantity=integer(d.get("buyQty")), sell_quantity=integer(d.get("sellQty")),
        average_price=money(d.get("buyAvg") if net >= 0 else d.get("sellAvg")),
        realized_pnl=money(d.get("realizedProfit")) or Decimal(0),
        unrealized_pnl=money(d.get("unrealizedProfit")) or Decimal(0),
        trading_symbol=str(d.get("tradingSymbol") or ""),
    )


def parse_holding(d: dict[str, Any]) -> BrokerHolding:
    """Map a holdings object."""
    return BrokerHolding(
        security_id=str(d.get("securityId") or ""), quantity=integer(d.get("totalQty")),
        average_price=money(d.get("avgCostPrice")) or Decimal(0),
        last_price=money(d.get("lastTradedPrice")),
        exchange_segment="BSE_EQ" if d.get("exchange") == "BSE" else "NSE_EQ",
        trading_symbol=str(d.get("tradingSymbol") or ""),
    )


def parse_funds(d: dict[str, Any]) -> Funds:
    """Map /fundlimit (note Dhan's spelling `availabelBalance`)."""
    available = d.get("availabelBalance", d.get("availableBalance"))
    return Funds(available=money(available) or Decimal(0),
                 used_margin=money(d.get("utilizedAmount")) or Decimal(0),
                 start_of_day=money(d.get("sodLimit")) or Decimal(0))


def parse_profile(d: dict[str, Any]) -> Profile:
    """Map /profile."""
    return Profile(client_id=str(d.get("dhanClientId") or ""),
                   active_segments=str(d.get("activeSegment") or ""),
                   token_validity=str(d.get("tokenValidity") or ""))


def token_validity(text: str) -> datetime | None:
    """Parse the profile's `DD/MM/YYYY HH:MM` IST token validity."""
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y %H:%M").replace(
            tzinfo=IST).astimezone(UTC)
    except (ValueError, AttributeError):
        return None

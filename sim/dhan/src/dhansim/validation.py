"""Parse and validate REST bodies the way Dhan does (numbers or numeric strings, no '')."""

from __future__ import annotations

import re

from dhansim import errors

SEGMENTS = {"NSE_EQ", "NSE_FNO", "NSE_CURRENCY", "BSE_EQ", "MCX_COMM", "BSE_CURRENCY", "BSE_FNO"}
TXN = {"BUY", "SELL"}
PRODUCTS = {"CNC", "INTRADAY", "MARGIN", "MTF", "CO", "BO"}
ORDER_TYPES = {"LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_MARKET"}
VALIDITY = {"DAY", "IOC"}
AMO_TIMES = {"PRE_OPEN", "OPEN", "OPEN_30", "OPEN_60"}
CORRELATION = re.compile(r"^[A-Za-z0-9 _-]{1,30}$")


def reject_empty_strings(body: dict) -> None:
    """Refuse any field sent as an empty string (Dhan answers DH-905)."""
    for key, value in body.items():
        if isinstance(value, str) and value == "":
            raise errors.bad_input(f"Invalid value for {key}: empty string")


def to_int(body: dict, key: str, required: bool = True, default: int = 0) -> int:
    """Read an integer sent as a number or a numeric string."""
    value = body.get(key)
    if value is None:
        if required:
            raise errors.bad_input(f"Missing required field {key}")
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise errors.bad_input(f"Invalid value for {key}") from None
    if number != int(number) or isinstance(value, bool):
        raise errors.bad_input(f"Invalid value for {key}")
    return int(number)


def to_float(body: dict, key: str, required: bool = True, default: float = 0.0) -> float:
    """Read a float sent as a number or a numeric string."""
    value = body.get(key)
    if value is None:
        if required:
            raise errors.bad_input(f"Missing required field {key}")
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise errors.bad_input(f"Invalid value for {key}") from None


def to_enum(body: dict, key: str, allowed: set[str], required: bool = True) -> str | None:
    """Read an enum value."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or value.upper() not in allowed:
        raise errors.bad_input(f"Invalid value for {key}")
    return value.upper()


def to_bool(body: dict, key: str) -> bool:
    """Read a boolean sent as JSON bool or 'true'/'false'."""
    value = body.get(key, False)
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def parse_place(body: dict) -> dict:
    """Return a typed place-order request or raise DH-905."""
    reject_empty_strings(body)
    req = {
        "transactionType": to_enum(body, "transactionType", TXN),
        "exchangeSegment": to_enum(body, "exchangeSegment", SEGMENTS),
        "productType": to_enum(body, "productType", PRODUCTS),
        "orderType": to_enum(body, "orderType", ORDER_TYPES),
        "validity": to_enum(body, "validity", VALIDITY),
        "quantity": to_int(body, "quantity"),
        "disclosedQuantity": to_int(body, "disclosedQuantity", required=False),
        "price": to_float(body, "price", required=False),
        "triggerPrice": to_float(body, "triggerPrice", required=False),
        "afterMarketOrder": to_bool(body, "afterMarketOrder"),
        "boProfitValue": to_float(body, "boProfitValue", required=False),
        "boStopLossValue": to_float(body, "boStopLossValue", required=False),
    }
    sec = body.get("securityId")
    if sec is None or not str(sec).strip().isdigit():
        raise errors.bad_input("Invalid value for securityId")
    req["securityId"] = str(int(str(sec).strip()))
    if req["quantity"] <= 0:
        raise errors.bad_input("Invalid quantity")
    if req["disclosedQuantity"] and req["disclosedQuantity"] < 0.3 * req["quantity"]:
        raise errors.bad_input("Disclosed quantity should be at least 30% of quantity")
    if req["orderType"] in ("LIMIT", "STOP_LOSS") and req["price"] <= 0:
        raise errors.bad_input("Invalid Price for orderType")
    if req["orderType"] in ("STOP_LOSS", "STOP_LOSS_MARKET") and req["triggerPrice"] <= 0:
        raise errors.bad_input("Trigger price is required for stop-loss orders")
    if req["orderType"] in ("MARKET", "STOP_LOSS_MARKET"):
        req["price"] = 0.0
    if req["afterMarketOrder"] and body.get("amoTime") is not None:
        to_enum(body, "amoTime", AMO_TIMES)
    corr = body.get("correlationId")
    if corr is not None:
        if not isinstance(corr, str) or not CORRELATION.match(corr):
            raise errors.bad_input("Invalid correlationId")
        req["correlationId"] = corr
    return req


def parse_modify(body: dict) -> dict:
    """Return a typed modify-order request or raise DH-905."""
    reject_empty_strings(body)
    req: dict = {}
    if body.get("orderType") is not None:
        req["orderType"] = to_enum(body, "orderType", ORDER_TYPES)
    if body.get("validity") is not None:
        req["validity"] = to_enum(body, "validity", VALIDITY)
    for key in ("quantity", "disclosedQuantity"):
        if body.get(key) is not None:
            req[key] = to_int(body, key)
    for key in ("price", "triggerPrice"):
        if body.get(key) is not None:
            req[key] = to_float(body, key)
    return req

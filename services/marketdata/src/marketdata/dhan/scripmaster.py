"""Parse Dhan's instrument master (API.md §13): compact or detailed CSV, parsed by column name.

Numbers are parsed leniently (`1`, `1.0`, `10.0000`), dates in the formats seen in real
copies (`YYYY-MM-DD[ HH:MM:SS]`, `30/09/25`, `7/31/2025`), and the tick size is taken as
paise when the row is tradable and its value is >= 1 (API.md §13.2, INDIA.md: "appears to
be in paise") - index rows carry rupees.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
SEGMENT_OF = {("NSE", "E"): "NSE_EQ", ("NSE", "D"): "NSE_FNO", ("NSE", "C"): "NSE_CURRENCY",
              ("NSE", "I"): "IDX_I", ("BSE", "E"): "BSE_EQ", ("BSE", "D"): "BSE_FNO",
              ("BSE", "C"): "BSE_CURRENCY", ("BSE", "I"): "IDX_I", ("MCX", "M"): "MCX_COMM",
              ("MCX", "D"): "MCX_COMM", ("MCX", "I"): "IDX_I"}
COLUMNS = ("segment", "security_id", "exchange", "symbol", "display_name", "name", "instrument",
           "instrument_type", "series", "lot_size", "tick_size", "expiry", "strike",
           "option_type", "expiry_flag", "isin", "underlying_security_id", "underlying_symbol")

_COMPACT = {"exchange": "SEM_EXM_EXCH_ID", "seg": "SEM_SEGMENT", "security_id": "SEM_SMST_SECURITY_ID",
            "instrument": "SEM_INSTRUMENT_NAME", "symbol": "SEM_TRADING_SYMBOL",
            "lot": "SEM_LOT_UNITS", "display_name": "SEM_CUSTOM_SYMBOL", "expiry": "SEM_EXPIRY_DATE",
            "strike": "SEM_STRIKE_PRICE", "option_type": "SEM_OPTION_TYPE",
            "tick": "SEM_TICK_SIZE", "expiry_flag": "SEM_EXPIRY_FLAG",
            "instrument_type": "SEM_EXCH_INSTRUMENT_TYPE", "series": "SEM_SERIES",
            "name": "SM_SYMBOL_NAME"}
_DETAILED = {"exchange": "EXCH_ID", "seg": "SEGMENT", "security_id": "SECURITY_ID",
             "instrument": "INSTRUMENT", "lot": "LOT_SIZE", "display_name": "DISPLAY_NAME",
             "expiry": "SM_EXPIRY_DATE", "strike": "STRIKE_PRICE", "option_type": "OPTION_TYPE",
             "tick": "TICK_SIZE", "expiry_flag": "EXPIRY_FLAG", "instrument_type": "INSTRUMENT_TYPE",
             "series": "SERIES", "isin": "ISIN", "underlying_security_id": "UNDERLYING_SECURITY_ID",
             "underlying_symbol": "UNDERLYING_SYMBOL", "symbol_name": "SYMBOL_NAME"}
_NA = {"", "NA", "N/A", "XX", "NULL", "None"}


def _dec(text: str | None) -> Decimal | None:
    try:
        return Decimal(text.strip()) if text and text.strip() not in _NA else None
    except InvalidOperation:
        return None


def _expiry(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if text in _NA or text.startswith("0001"):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%y", "%m/%d/%Y", "%d-%m-%Y %H:%M",
                "%d-%m-%Y"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if naive.hour == 0 and naive.minute == 0 and " " not in text:
            naive = naive.replace(hour=15, minute=30)  # date-only: the session close
        return naive.replace(tzinfo=IST).astimezone(UTC)
    return None


def _opt(text: str | None) -> str | None:
    text = (text or "").strip()
    return None if text in _NA else text


def parse(text: str) -> Iterator[dict]:
    """Yield one normalised instrument dict (keys `COLUMNS`) per usable row."""
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    header = set(reader.fieldnames or ())
    cols = _COMPACT if "SEM_SMST_SECURITY_ID" in header else _DETAILED
    if cols["security_id"] not in header:
        raise ValueError("not a Dhan scrip master: no security id column")
    detailed = cols is _DETAILED
    for row in reader:
        out = _row(row, cols, detailed)
        if out is not None:
            yield out


def _row(row: dict, cols: dict, detailed: bool) -> dict | None:
    def get(k: str) -> str:
        return (row.get(cols[k]) or "").strip() if k in cols else ""

    exchange, seg = get("exchange").upper(), get("seg").upper()
    segment = SEGMENT_OF.get((exchange, seg))
    sid = get("security_id").split(".")[0]
    if segment is None or not sid:
        return None
    instrument = get("instrument").upper()
    if detailed:
        derivative = instrument.startswith(("FUT", "OPT"))
        symbol = get("symbol_name") if derivative else get("underlying_symbol")
        name = get("underlying_symbol") if derivative else get("symbol_name")
    else:
        symbol, name = get("symbol"), get("name")
    if not symbol:
        return None
    tick = _dec(get("tick")) or Decimal("0.05")
    if instrument != "INDEX" and tick >= 1:
        tick = tick / 100
    strike = _dec(get("strike"))
    lot = _dec(get("lot"))
    return {
        "segment": segment, "security_id": sid, "exchange": exchange, "symbol": symbol,
        "display_name": get("display_name"), "name": name, "instrument": instrument,
        "instrument_type": get("instrument_type"), "series": get("series"),
        "lot_size": int(lot) if lot and lot > 0 else 1, "tick_size": tick,
        "expiry": _expiry(get("expiry")), "strike": strike if strike and strike > 0 else None,
        "option_type": _opt(get("option_type")), "expiry_flag": _opt(get("expiry_flag")),
        "isin": _opt(get("isin")), "underlying_security_id": _opt(get("underlying_security_id")),
        "underlying_symbol": _opt(get("underlying_symbol")) if detailed else None,
    }

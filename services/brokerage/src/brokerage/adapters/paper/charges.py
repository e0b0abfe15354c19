"""Indian statutory charges and Dhan brokerage per fill (market/INDIA.md, "Statutory charges").

Rates are per side unless noted; STT and stamp duty are rounded to the nearest rupee as on a
contract note. Index/stock options cannot be told from futures by segment alone, so the
caller passes `kind`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

D = Decimal
CRORE = D("10000000")
STT_CHANGE = date(2026, 4, 1)


def _r(x: Decimal, places: str = "0.01") -> Decimal:
    return x.quantize(D(places), rounding=ROUND_HALF_UP)


def kind_of(segment: str, product: str, option: bool = False) -> str:
    """Return delivery, intraday, futures, options or currency for a fill."""
    if segment.endswith("_EQ"):
        return "delivery" if product in ("CNC", "MTF") else "intraday"
    if segment.endswith("CURRENCY"):
        return "currency"
    return "options" if option else "futures"


def charges(*, segment: str, product: str, side: str, quantity: int, price: Decimal,
            on: date, option: bool = False) -> Decimal:
    """Return the total charges of one fill in rupees (brokerage + statutory + GST)."""
    turnover = D(quantity) * price
    kind = kind_of(segment, product, option)
    sell, buy = side == "SELL", side == "BUY"
    bse = segment.startswith("BSE")

    if kind == "delivery":
        brokerage = D(0)
    elif kind == "options":
        brokerage = D(20)
    else:
        brokerage = min(D(20), turnover * D("0.0003"))

    stt = D(0)
    if kind == "delivery":
        stt = turnover * D("0.001")
    elif kind == "intraday" and sell:
        stt = turnover * D("0.00025")
    elif kind == "futures" and sell:
        stt = turnover * (D("0.0005") if on >= STT_CHANGE else D("0.0002"))
    elif kind == "options" and sell:
        stt = turnover * (D("0.0015") if on >= STT_CHANGE else D("0.001"))

    if kind in ("delivery", "intraday"):
        txn_rate = D("0.0000375") if bse else D("0.0000297")
    elif kind == "futures":
        txn_rate = D(0) if bse else D("0.0000173")
    elif kind == "options":
        txn_rate = D("0.0003503")
    else:
        txn_rate = D("0.0000035")
    txn = turnover * txn_rate

    stamp_rate = {"delivery": D("0.00015"), "intraday": D("0.00003"), "futures": D("0.00002"),
                  "options": D("0.00003"), "currency": D("0.000001")}[kind]
    stamp = turnover * stamp_rate if buy else D(0)
    sebi = turnover * D(10) / CRORE
    ipft = D(0) if bse else turnover * (D(50) if kind == "options" else D(10)) / CRORE
    gst = (brokerage + txn + sebi) * D("0.18")
    total = brokerage + _r(stt, "1") + txn + _r(stamp, "1") + sebi + ipft + gst
    return _r(total)


MARGIN_RATE = {"CNC": D(1), "MTF": D("0.25"), "INTRADAY": D("0.2"), "MARGIN": D("0.2")}
"""Share of the notional a paper position blocks (intraday leverage of 5x)."""

"""Indian trading charges from dated, versioned tables, computed exactly in integer paise.

Rates live in ``data/charges.csv`` (one row per charge, segment, product, side and effective
date, with its source). ``charges()`` prices one executed order (one side of a trade, one
contract-note line); ``charges_paise()`` does the same for numpy arrays of orders.

Rounding, per executed order: STT and stamp duty to the nearest rupee (half up), as contract
notes do (a real note rounds STT once per note, so for many small fills in a day we can
overstate it by up to ₹0.50 a fill); brokerage, exchange transaction charge, SEBI fee, IPFT
and GST to the nearest paisa (half up). GST is 18 % of (brokerage + exchange charge + SEBI fee).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

Segment = Literal["NSE_EQ", "NSE_FNO"]
Product = Literal["delivery", "intraday", "futures", "options"]
Side = Literal["buy", "sell"]

VALID_PRODUCTS: dict[str, tuple[str, ...]] = {
    "NSE_EQ": ("delivery", "intraday"),
    "NSE_FNO": ("futures", "options"),
}
_COMPONENTS = ("brokerage", "stt", "exchange", "stamp", "sebi", "ipft", "gst")
_PAISA = Decimal("0.01")


class ChargeTableError(ValueError):
    """A charge lookup that the table cannot answer (unknown segment, date before the table)."""


@dataclass(frozen=True)
class ChargeRow:
    """One dated rate of one charge, with where it comes from."""

    charge: str
    segment: str
    product: str
    side: str
    effective_from: date
    rate: Fraction
    source: str


@dataclass(frozen=True)
class Brokerage:
    """Brokerage per executed order: ``flat`` rupees, else ``pct`` of turnover capped at ``cap``."""

    pct: Decimal = Decimal(0)
    cap: Decimal | None = None
    flat: Decimal | None = None


@dataclass(frozen=True)
class Rates:
    """Every rate that applies to one order of one segment, product, side and date."""

    stt: Fraction
    exchange: Fraction
    stamp: Fraction
    sebi: Fraction
    ipft: Fraction
    gst: Fraction
    brokerage: Brokerage


@dataclass(frozen=True)
class Breakdown:
    """Charges of one executed order in rupees (exact Decimals, 2 places)."""

    brokerage: Decimal
    stt: Decimal
    exchange: Decimal
    stamp: Decimal
    sebi: Decimal
    ipft: Decimal
    gst: Decimal

    @property
    def total(self) -> Decimal:
        """Return the sum of all components."""
        return sum((getattr(self, c) for c in _COMPONENTS), Decimal(0))


class ChargeTable:
    """Dated charge rows; ``rate()`` picks the row in force on a date."""

    def __init__(self, rows: list[ChargeRow]) -> None:
        self.rows = sorted(rows, key=lambda r: r.effective_from)
        self.first_date = self.rows[0].effective_from
        self.change_dates = sorted({r.effective_from for r in self.rows})

    @classmethod
    def from_csv(cls, path: Path | str) -> ChargeTable:
        """Load a table from a CSV file with the columns of ``data/charges.csv``."""
        with open(path, newline="", encoding="utf-8") as fh:
            return cls(_parse(fh.read()))

    def rate(self, charge: str, segment: str, product: str, side: str, on: date) -> Fraction | None:
        """Return the rate in force on ``on`` (None when no row applies, i.e. no such charge)."""
        if on < self.first_date:
            raise ChargeTableError(f"no charge rates before {self.first_date} (asked for {on})")
        best: tuple[date, int, Fraction] | None = None
        for r in self.rows:
            if r.effective_from > on or r.charge != charge or r.side not in (side, "both"):
                continue
            if r.segment not in (segment, "*") or r.product not in (product, "*"):
                continue
            specific = (r.segment != "*") + (r.product != "*")
            key = (r.effective_from, specific, r.rate)
            if best is None or key[:2] >= best[:2]:
                best = key
        return None if best is None else best[2]


def _parse(text: str) -> list[ChargeRow]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [
        ChargeRow(
            charge=row["charge"],
            segment=row["segment"],
            product=row["product"],
            side=row["side"],
            effective_from=date.fromisoformat(row["effective_from"]),
            rate=Fraction(row["rate"]),
            source=row["source"],
        )
        for row in csv.DictReader(lines)
    ]


@functools.cache
def default_table() -> ChargeTable:
    """Return the packaged charge table (loaded once)."""
    text = resources.files("btengine").joinpath("data/charges.csv").read_text(encoding="utf-8")
    return ChargeTable(_parse(text))


def _check(segment: str, product: str, side: str) -> None:
    if product not in VALID_PRODUCTS.get(segment, ()):
        raise ChargeTableError(f"unknown segment/product {segment}/{product}")
    if side not in ("buy", "sell"):
        raise ChargeTableError(f"side must be buy or sell, not {side!r}")


def rates_for(
    segment: str,
    product: str,
    side: str,
    on_date: date,
    *,
    brokerage: Brokerage | None = None,
    table: ChargeTable | None = None,
) -> Rates:
    """Return the rates of one order; ``brokerage`` overrides the table's Dhan brokerage."""
    _check(segment, product, side)
    t = table or default_table()

    def get(charge: str) -> Fraction:
        """Return the rate of ``charge`` in force (0 when no row applies)."""
        return t.rate(charge, segment, product, side, on_date) or Fraction(0)

    if brokerage is None:
        flat = t.rate("brokerage_flat", segment, product, side, on_date)
        cap = t.rate("brokerage_max", segment, product, side, on_date)
        brokerage = Brokerage(
            pct=_dec(get("brokerage_pct")),
            cap=None if cap is None else _dec(cap),
            flat=None if flat is None else _dec(flat),
        )
    return Rates(
        stt=get("stt"),
        exchange=get("exchange"),
        stamp=get("stamp"),
        sebi=get("sebi"),
        ipft=get("ipft"),
        gst=get("gst"),
        brokerage=brokerage,
    )


def _dec(f: Fraction) -> Decimal:
    return Decimal(f.numerator) / Decimal(f.denominator)


def _round(turnover, rate: Fraction, unit: int):
    """Round turnover (paise, int or int64 array) × rate half up to a multiple of ``unit`` paise."""
    num, den = rate.numerator, rate.denominator * unit
    return (2 * turnover * num + den) // (2 * den) * unit


def charges_paise(rates: Rates, turnover_paise):
    """Return each component in integer paise for turnover in paise (int or int64 array)."""
    b = rates.brokerage
    if isinstance(turnover_paise, np.ndarray) and turnover_paise.size:
        fracs = (rates.stt, rates.exchange, rates.stamp, rates.sebi, rates.ipft, Fraction(b.pct))
        if int(turnover_paise.max()) * 2 * max(f.numerator for f in fracs) > 2**62:
            turnover_paise = turnover_paise.astype(object)  # exact Python ints past int64
    zero = turnover_paise * 0
    if b.flat is not None:
        brokerage = zero + int(b.flat * 100)
    else:
        brokerage = _round(turnover_paise, Fraction(b.pct), 1)
        if b.cap is not None:
            brokerage = np.minimum(brokerage, int(b.cap * 100))
    exchange = _round(turnover_paise, rates.exchange, 1)
    sebi = _round(turnover_paise, rates.sebi, 1)
    out = {
        "brokerage": brokerage,
        "stt": _round(turnover_paise, rates.stt, 100),
        "exchange": exchange,
        "stamp": _round(turnover_paise, rates.stamp, 100),
        "sebi": sebi,
        "ipft": _round(turnover_paise, rates.ipft, 1),
        "gst": _round(brokerage + exchange + sebi, rates.gst, 1),
    }
    if not isinstance(turnover_paise, np.ndarray):
        out = {k: int(v) for k, v in out.items()}
    return out


def to_paise(price: Decimal | float | str) -> int:
    """Return a price in integer paise (rounded half-even to the paisa)."""
    return int((Decimal(str(price)) * 100).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))


def charges(
    segment: Segment,
    product: Product,
    side: Side,
    price: Decimal | float | str,
    qty: int,
    on_date: date,
    *,
    brokerage: Brokerage | None = None,
    table: ChargeTable | None = None,
) -> Breakdown:
    """Price one executed order (one contract-note line) with the rates in force on ``on_date``."""
    rates = rates_for(segment, product, side, on_date, brokerage=brokerage, table=table)
    paise = charges_paise(rates, to_paise(price) * int(qty))
    return Breakdown(**{k: (Decimal(v) / 100).quantize(_PAISA) for k, v in paise.items()})

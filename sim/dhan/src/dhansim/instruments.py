"""Instrument master: parse the compact scrip-master CSV and look instruments up."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

PACKAGE_DATA = Path(__file__).parent / "data"

SEGMENT_CODES = {
    "IDX_I": 0, "NSE_EQ": 1, "NSE_FNO": 2, "NSE_CURRENCY": 3,
    "BSE_EQ": 4, "MCX_COMM": 5, "BSE_CURRENCY": 7, "BSE_FNO": 8,
}
CODE_SEGMENTS = {v: k for k, v in SEGMENT_CODES.items()}
_CSV_SEGMENT = {
    ("NSE", "E"): "NSE_EQ", ("NSE", "D"): "NSE_FNO", ("NSE", "I"): "IDX_I",
    ("NSE", "C"): "NSE_CURRENCY", ("BSE", "E"): "BSE_EQ", ("BSE", "D"): "BSE_FNO",
    ("BSE", "I"): "IDX_I", ("BSE", "C"): "BSE_CURRENCY", ("MCX", "M"): "MCX_COMM",
}
DETAILED_HEADER = [
    "EXCH_ID", "SEGMENT", "SECURITY_ID", "ISIN", "INSTRUMENT", "UNDERLYING_SECURITY_ID",
    "UNDERLYING_SYMBOL", "SYMBOL_NAME", "DISPLAY_NAME", "INSTRUMENT_TYPE", "SERIES", "LOT_SIZE",
    "SM_EXPIRY_DATE", "STRIKE_PRICE", "OPTION_TYPE", "TICK_SIZE", "EXPIRY_FLAG", "BRACKET_FLAG",
    "COVER_FLAG", "ASM_GSM_FLAG", "ASM_GSM_CATEGORY", "BUY_SELL_INDICATOR",
    "BUY_CO_MIN_MARGIN_PER", "BUY_CO_SL_RANGE_MAX_PERC", "BUY_CO_SL_RANGE_MIN_PERC",
    "BUY_BO_MIN_MARGIN_PER", "BUY_BO_PROFIT_RANGE_MAX_PERC", "BUY_BO_PROFIT_RANGE_MIN_PERC",
    "MTF_LEVERAGE",
]
# Exchange freeze quantities (units) for index derivatives; slicing splits above these.
FREEZE_QTY = {"NIFTY": 1800, "BANKNIFTY": 900, "FINNIFTY": 1800, "MIDCPNIFTY": 2800}
EQUITY_MAX_ORDER_VALUE = 100_000_000.0  # NSE caps one cash order at Rs 10 crore


def _num(text: str, default: float = 0.0) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Instrument:
    """One row of the scrip master, with the fields the simulator needs."""

    exchange: str
    segment: str
    security_id: str
    instrument: str
    symbol: str
    display_name: str
    lot_size: int
    tick_size: float
    expiry: datetime | None
    strike: float
    option_type: str
    underlying: str
    series: str
    row: tuple[str, ...]

    @property
    def segment_code(self) -> int:
        """Return the numeric exchange-segment code used by the binary feed."""
        return SEGMENT_CODES[self.segment]

    @property
    def is_derivative(self) -> bool:
        """Tell whether the instrument is a future or an option."""
        return self.instrument.startswith(("FUT", "OPT"))

    @property
    def is_option(self) -> bool:
        """Tell whether the instrument is an option."""
        return self.instrument.startswith("OPT")

    @property
    def tradable(self) -> bool:
        """Tell whether orders may be placed on it (indices are not tradable)."""
        return self.segment != "IDX_I"

    @property
    def expiry_date_text(self) -> str:
        """Return the expiry as Dhan prints it in books ('0001-01-01' when none)."""
        return self.expiry.strftime("%Y-%m-%d") if self.expiry else "0001-01-01"

    @property
    def option_kind(self) -> str:
        """Return CALL/PUT for options, NA otherwise."""
        return {"CE": "CALL", "PE": "PUT"}.get(self.option_type, "NA")

    def expired_on(self, day: date) -> bool:
        """Tell whether the contract has expired before the given date."""
        return self.expiry is not None and self.is_derivative and self.expiry.date() < day

    def freeze_qty(self, price: float) -> int:
        """Return the largest quantity one exchange order may carry."""
        if self.is_derivative:
            return FREEZE_QTY.get(self.underlying, self.lot_size * 24)
        return max(1, int(EQUITY_MAX_ORDER_VALUE // max(price, 0.01)))


class InstrumentMaster:
    """All instruments of the scrip-master file, indexed by (segment, securityId)."""

    def __init__(self, csv_text: str) -> None:
        self.csv_text = csv_text
        self.by_key: dict[tuple[str, str], Instrument] = {}
        self.by_symbol: dict[tuple[str, str], Instrument] = {}
        reader = csv.reader(io.StringIO(csv_text))
        self.header = next(reader)
        for row in reader:
            if not row:
                continue
            inst = self._parse(row)
            if inst:
                self.by_key[(inst.segment, inst.security_id)] = inst
                self.by_symbol.setdefault((inst.segment, inst.symbol), inst)

    @classmethod
    def load(cls, path: Path | None = None) -> InstrumentMaster:
        """Load the master shipped in the package (or another file in the same format)."""
        return cls((path or PACKAGE_DATA / "api-scrip-master.csv").read_text())

    @staticmethod
    def _parse(row: list[str]) -> Instrument | None:
        exch, seg_letter, sec_id, kind, _code, symbol, lot, name, expiry, strike, opt, \
            tick, _flag, _itype, series, sm_name = (row + [""] * 16)[:16]
        segment = _CSV_SEGMENT.get((exch, seg_letter))
        if segment is None:
            return None
        # Tradable rows give the tick in paise, index rows in rupees (API.md 13.2).
        tick_value = _num(tick, 5.0)
        tick_rupees = tick_value if segment == "IDX_I" else tick_value / 100.0
        exp = None
        if expiry and not expiry.startswith("0001"):
            try:
                exp = datetime.fromisoformat(expiry)
            except ValueError:
                exp = None
        underlying = sm_name if kind.startswith(("FUT", "OPT")) else symbol
        return Instrument(
            exchange=exch, segment=segment, security_id=sec_id, instrument=kind,
            symbol=symbol, display_name=name, lot_size=max(1, int(_num(lot, 1))),
            tick_size=round(tick_rupees, 4) or 0.05, expiry=exp,
            strike=_num(strike) if kind.startswith("OPT") else 0.0,
            option_type=opt if opt in ("CE", "PE") else "XX", underlying=underlying,
            series=series, row=tuple(row),
        )

    def get(self, segment: str, security_id: str | int) -> Instrument | None:
        """Return the instrument or None."""
        return self.by_key.get((segment, str(security_id)))

    def underlying_of(self, inst: Instrument) -> Instrument | None:
        """Return the index or NSE stock a derivative is written on."""
        return self.by_symbol.get(("IDX_I", inst.underlying)) or self.by_symbol.get(
            ("NSE_EQ", inst.underlying))

    def detailed_csv(self, segment: str | None = None) -> str:
        """Return instruments in the detailed (31-column) format, optionally for one segment."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(DETAILED_HEADER)
        for inst in self.by_key.values():
            if segment is None or inst.segment == segment:
                writer.writerow(self._detailed_row(inst))
        return out.getvalue()

    def _detailed_row(self, inst: Instrument) -> list:
        row = (list(inst.row) + [""] * 16)[:16]
        und = self.underlying_of(inst) if inst.is_derivative else None
        if inst.is_derivative:
            und_id, und_sym, sym_name = (und.security_id if und else ""), inst.underlying, \
                inst.symbol
        else:
            und_id = inst.security_id if inst.segment == "IDX_I" else ""
            und_sym, sym_name = inst.symbol, row[15] or inst.symbol
        return [inst.exchange, row[1], inst.security_id, "NA", inst.instrument, und_id,
                und_sym, sym_name, inst.display_name, row[13], row[14] or "NA",
                inst.lot_size, row[8], row[9], row[10] or "XX", row[11], row[12] or "NA",
                "N", "N", "N", "NA", "A", 0, 0, 0, 0, 0, 0, 0]

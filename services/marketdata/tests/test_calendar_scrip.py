"""Pure tests: the dated calendar agrees with real trading days; both scrip-master formats parse."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from marketdata.calendar import IST, Calendar
from marketdata.dhan.scripmaster import parse

ROOT = Path(__file__).resolve().parents[3]
CAL = Calendar.load()


def _ist(d: date, hh: int, mm: int) -> datetime:
    return datetime.combine(d, time(hh, mm), IST)


def test_trading_days_of_the_calendar_equal_the_days_in_real_nse_data():
    for name in ("IDX-NIFTY50-5m", "IDX-NIFTY50-1m"):
        df = pl.read_parquet(ROOT / "data" / "ohlc" / f"{name}.parquet")
        days = set(df["ts"].dt.date().to_list())
        lo, hi = max(min(days), date(2024, 1, 1)), max(days)
        d = lo
        while d <= hi:
            # data/ohlc dropped sessions outside 09:15-15:30 (the 2024 evening muhurat).
            regular = [w for w in CAL.windows("NSE_EQ", d)
                       if _ist(d, 9, 15) <= w.open and w.close <= _ist(d, 15, 30)]
            assert bool(regular) == (d in days), d
            d += timedelta(days=1)


def test_sessions_next_open_close_and_square_off():
    monday = date(2025, 7, 21)
    assert CAL.is_open("NSE_EQ", _ist(monday, 9, 15))
    assert not CAL.is_open("NSE_EQ", _ist(monday, 15, 30))
    assert not CAL.is_open("NSE_EQ", _ist(monday, 9, 14))
    assert CAL.is_open("NSE_CURRENCY", _ist(monday, 16, 30))
    assert CAL.is_open("MCX_COMM", _ist(monday, 23, 0))
    assert CAL.next_open("NSE_EQ", _ist(date(2025, 7, 25), 16, 0)) == _ist(date(2025, 7, 28), 9, 15)
    assert CAL.next_close("NSE_EQ", _ist(monday, 10, 0)) == _ist(monday, 15, 30)
    # Diwali 2025: the normal session is a holiday, the muhurat hour is open.
    diwali = date(2025, 10, 21)
    assert CAL.holiday("NSE_EQ", diwali).startswith("Diwali")
    assert CAL.is_open("NSE_EQ", _ist(diwali, 14, 0)) and not CAL.is_open("NSE_EQ", _ist(diwali, 10, 0))
    assert CAL.window_at("NSE_EQ", _ist(diwali, 14, 0)).kind == "muhurat"
    broker, platform, source = CAL.square_off("NSE_EQ", "INTRADAY", monday)
    assert (broker, platform) == (_ist(monday, 15, 20), _ist(monday, 15, 15)) and "INDIA.md" in source
    assert CAL.square_off("NSE_EQ", "CNC", monday)[:2] == (None, None)
    winter = date(2025, 12, 15)
    assert CAL.square_off("MCX_COMM", "INTRADAY", winter)[0] == _ist(winter, 23, 45)
    assert CAL.session_bounds("MCX_COMM", winter)[1] == _ist(winter, 23, 55)
    assert CAL.square_off("NSE_EQ", "INTRADAY", date(2025, 8, 15))[:2] == (None, None)


def test_compact_sample_and_detailed_rows_parse_by_column_name():
    # Dhan's real scrip-master sample, kept with the tests (a fresh clone has no ../shared).
    sample = Path(__file__).parent / "resources" / "scrip-master-sample.csv"
    rows = list(parse(sample.read_text()))
    assert len(rows) == 256
    rel = next(r for r in rows if (r["segment"], r["security_id"]) == ("NSE_EQ", "2885"))
    assert rel["symbol"] == "RELIANCE" and rel["tick_size"] == Decimal("0.1") and rel["lot_size"] == 1
    nifty = next(r for r in rows if (r["segment"], r["security_id"]) == ("IDX_I", "13"))
    assert nifty["instrument"] == "INDEX" and nifty["tick_size"] == Decimal("0.05")
    assert nifty["expiry"] is None
    detailed = (
        "EXCH_ID,SEGMENT,SECURITY_ID,ISIN,INSTRUMENT,UNDERLYING_SECURITY_ID,UNDERLYING_SYMBOL,"
        "SYMBOL_NAME,DISPLAY_NAME,INSTRUMENT_TYPE,SERIES,LOT_SIZE,SM_EXPIRY_DATE,STRIKE_PRICE,"
        "OPTION_TYPE,TICK_SIZE,EXPIRY_FLAG,BRACKET_FLAG\n"
        "NSE,E,2885,INE002A01018,EQUITY,,RELIANCE,RELIANCE INDUSTRIES LTD,Reliance Industries,"
        "ES,EQ,1,,,,10,NA,N\n"
        "NSE,D,53806,NA,FUTSTK,2885,RELIANCE,RELIANCE-Sep2025-FUT,RELIANCE SEP FUT,FUT,NA,500,"
        "30/09/25,-0.01,XX,10,M,N\n"
        "NSE,D,35000,NA,OPTIDX,26009,BANKNIFTY,BANKNIFTY-Jul2025-32000-CE,BANKNIFTY 31 JUL 32000 CALL,"
        "OP,NA,35,7/31/2025,32000,CE,5,M,N\n")
    eq, fut, opt = parse(detailed)
    assert (eq["symbol"], eq["name"], eq["isin"]) == ("RELIANCE", "RELIANCE INDUSTRIES LTD", "INE002A01018")
    assert (fut["symbol"], fut["lot_size"], fut["strike"], fut["option_type"]) == (
        "RELIANCE-Sep2025-FUT", 500, None, None)
    assert fut["expiry"] == datetime(2025, 9, 30, 10, 0, tzinfo=UTC)
    assert fut["underlying_security_id"] == "2885"
    assert (opt["strike"], opt["option_type"], opt["tick_size"]) == (Decimal(32000), "CE", Decimal("0.05"))

"""Charges against hand-computed contract notes (rupees; STT/stamp to the rupee, rest to paise)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from btengine import Brokerage, charges
from btengine.costs import ChargeTable, ChargeTableError, charges_paise, default_table, rates_for

D = Decimal
JAN25 = date(2025, 1, 15)


def _as_tuple(b):
    return (b.brokerage, b.stt, b.exchange, b.stamp, b.sebi, b.ipft, b.gst, b.total)


def test_delivery_buy_100_at_2500():
    # turnover 2,50,000: STT 0.1% = 250; NSE 0.00297% = 7.425 -> 7.43; stamp 0.015% = 37.5
    # -> 38; SEBI and IPFT Rs 10/cr = 0.25 each; GST 18% of (0 + 7.43 + 0.25) = 1.3824 -> 1.38
    b = charges("NSE_EQ", "delivery", "buy", "2500", 100, JAN25)
    assert _as_tuple(b) == (
        D("0.00"),
        D("250.00"),
        D("7.43"),
        D("38.00"),
        D("0.25"),
        D("0.25"),
        D("1.38"),
        D("297.31"),
    )


def test_intraday_sell_10_at_1000():
    # turnover 10,000: brokerage min(20, 3.00) = 3; STT 0.025% = 2.5 -> 3; NSE 0.297 -> 0.30;
    # no stamp on a sell; SEBI/IPFT 0.01; GST 18% of (3 + 0.30 + 0.01) = 0.5958 -> 0.60
    b = charges("NSE_EQ", "intraday", "sell", 1000, 10, JAN25)
    assert _as_tuple(b) == (
        D("3.00"),
        D("3.00"),
        D("0.30"),
        D("0.00"),
        D("0.01"),
        D("0.01"),
        D("0.60"),
        D("6.92"),
    )


def test_intraday_buy_has_stamp_and_no_stt():
    b = charges("NSE_EQ", "intraday", "buy", 1000, 100, JAN25)  # turnover 1,00,000
    assert (b.stt, b.stamp, b.brokerage) == (D("0.00"), D("3.00"), D("20.00"))


def test_futures_sell_one_nifty_lot_in_2025():
    # 75 x 24,000 = 18,00,000: brokerage min(20, 540) = 20; STT 0.02% = 360; NSE 0.00173% =
    # 31.14; SEBI/IPFT 1.80; GST 18% of (20 + 31.14 + 1.80) = 9.5292 -> 9.53
    b = charges("NSE_FNO", "futures", "sell", 24000, 75, JAN25)
    assert _as_tuple(b) == (
        D("20.00"),
        D("360.00"),
        D("31.14"),
        D("0.00"),
        D("1.80"),
        D("1.80"),
        D("9.53"),
        D("424.27"),
    )


def test_the_same_futures_sell_in_2023_uses_2023_rates():
    # STT 0.0125% = 225; NSE 0.0019% = 34.20; GST 18% of (20 + 34.20 + 1.80) = 10.08
    b = charges("NSE_FNO", "futures", "sell", 24000, 75, date(2023, 6, 15))
    assert (b.stt, b.exchange, b.gst, b.total) == (D("225.00"), D("34.20"), D("10.08"), D("292.88"))


def test_options_buy_pays_flat_brokerage_and_premium_charges():
    # premium turnover 75 x 100 = 7,500: brokerage 20; NSE 0.03503% = 2.62725 -> 2.63;
    # stamp 0.003% = 0.225 -> 0; SEBI 0.0075 -> 0.01; IPFT Rs 50/cr = 0.0375 -> 0.04;
    # GST 18% of (20 + 2.63 + 0.01) = 4.0752 -> 4.08
    b = charges("NSE_FNO", "options", "buy", 100, 75, JAN25)
    assert _as_tuple(b) == (
        D("20.00"),
        D("0.00"),
        D("2.63"),
        D("0.00"),
        D("0.01"),
        D("0.04"),
        D("4.08"),
        D("26.76"),
    )


def test_options_sell_stt_rises_on_2026_04_01():
    before = charges("NSE_FNO", "options", "sell", 200, 750, date(2026, 3, 31))
    after = charges("NSE_FNO", "options", "sell", 200, 750, date(2026, 4, 1))
    assert (before.stt, after.stt) == (D("150.00"), D("225.00"))  # 0.1% / 0.15% of 1,50,000


def test_brokerage_is_configurable():
    b = charges(
        "NSE_EQ",
        "delivery",
        "buy",
        500,
        10,
        JAN25,
        brokerage=Brokerage(pct=Decimal("0.001"), cap=Decimal(20)),
    )
    assert b.brokerage == D("5.00")
    flat = charges("NSE_EQ", "delivery", "buy", 500, 10, JAN25, brokerage=Brokerage(flat=D("15")))
    assert flat.brokerage == D("15.00")


def test_dates_before_the_table_and_unknown_products_are_refused():
    with pytest.raises(ChargeTableError):
        charges("NSE_EQ", "delivery", "buy", 100, 1, date(2010, 1, 1))
    with pytest.raises(ChargeTableError):
        charges("NSE_FNO", "delivery", "buy", 100, 1, JAN25)


def test_every_row_names_its_source_and_the_table_loads_from_a_file(tmp_path):
    table = default_table()
    assert all(r.source for r in table.rows)
    path = tmp_path / "c.csv"
    path.write_text(
        "charge,segment,product,side,effective_from,rate,source\n"
        "stt,NSE_EQ,delivery,both,2020-01-01,0.5,test\n"
    )
    custom = ChargeTable.from_csv(path)
    assert charges("NSE_EQ", "delivery", "sell", 10, 1, JAN25, table=custom).stt == D("5.00")


def test_vectorised_charges_equal_the_scalar_ones():
    rng = np.random.default_rng(3)
    prices = rng.integers(1_000, 5_000_000, 200)  # paise
    qty = 37
    rates = rates_for("NSE_EQ", "intraday", "sell", JAN25)
    vec = charges_paise(rates, prices * qty)
    for i, p in enumerate(prices):
        one = charges("NSE_EQ", "intraday", "sell", Decimal(int(p)) / 100, qty, JAN25)
        assert int(sum(v[i] for v in vec.values())) == int(one.total * 100)

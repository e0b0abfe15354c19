"""Feed packets byte for byte (API.md 8.4/8.6), and as the official SDK parses them."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest
from dhanhq.marketfeed import MarketFeed
from dhansim import packets
from dhansim.clock import IST
from dhansim.instruments import InstrumentMaster
from dhansim.market import Level, Snapshot

MASTER = InstrumentMaster.load()


def snap(segment="NSE_EQ", sid="2885", ltp=1402.35, prev=1398.6, oi=0, **kw) -> Snapshot:
    base = {
        "inst": MASTER.get(segment, sid), "day": datetime(2025, 1, 15).date(), "seq": 3,
        "ltp": ltp, "ltq": 25, "ltt": datetime(2025, 1, 15, 10, 30, 5, tzinfo=IST),
        "volume": 123456, "open": 1400.0, "high": 1405.5, "low": 1395.25, "prev_close": prev,
        "atp": 1401.1, "oi": oi, "oi_high": oi, "oi_low": oi,
        "depth": tuple(Level(100 * (k + 1), 90 * (k + 1), k + 1, k + 2, 1402.3 - k * 0.1,
                             1402.4 + k * 0.1) for k in range(5)),
    }
    base.update(kw)
    return Snapshot(**base)


def test_ticker_matches_the_worked_example():
    data = packets.ticker(snap())
    assert data == bytes.fromhex("02 10 00 01 45 0b 00 00 33 4b af 44 2d 8e 87 67")
    assert struct.unpack("<BHBIfI", data) == (2, 16, 1, 2885, pytest.approx(1402.35, abs=1e-4),
                                              1736937005)


def test_prev_close_oi_and_disconnect_match_reference_bytes():
    assert packets.prev_close(snap()) == bytes.fromhex(
        "06 10 00 01 45 0b 00 00 33 d3 ae 44 00 00 00 00")
    assert packets.disconnect(807) == bytes.fromhex("32 0a 00 00 00 00 00 00 27 03")
    fut = MASTER.get("NSE_FNO", "53001")
    oi = packets.oi(snap("NSE_FNO", "53001", oi=1_234_500))
    assert oi[:3] == bytes.fromhex("05 0c 00") and oi[3] == 2
    assert struct.unpack("<BHBII", oi) == (5, 12, 2, int(fut.security_id), 1_234_500)


def test_quote_and_full_have_documented_sizes_and_fields():
    q = packets.quote(snap())
    assert len(q) == 50
    fields = struct.unpack("<BHBIfHIfIIIffff", q)
    assert fields[:4] == (4, 50, 1, 2885) and fields[5] == 25 and fields[8] == 123456
    f = packets.full(snap())
    assert len(f) == 162
    head = struct.unpack("<BHBIfHIfIIIIIIffff", f[:62])
    assert head[:4] == (8, 162, 1, 2885)
    level0 = struct.unpack("<IIHHff", f[62:82])
    assert level0[:4] == (100, 90, 1, 2)
    assert level0[4] == pytest.approx(1402.3, abs=1e-3)


def test_sdk_parser_decodes_every_packet_type():
    parser = MarketFeed.__new__(MarketFeed)  # the SDK's own parser, without a connection
    tick = parser.process_data(packets.ticker(snap()))
    assert tick == {"type": "Ticker Data", "exchange_segment": 1, "security_id": 2885,
                    "LTP": "1402.35", "LTT": "10:30:05"}
    assert parser.process_data(packets.prev_close(snap()))["prev_close"] == "1398.60"
    quote = parser.process_data(packets.quote(snap()))
    assert quote["type"] == "Quote Data" and quote["volume"] == 123456 and quote["LTQ"] == 25
    full = parser.process_data(packets.full(snap()))
    assert full["type"] == "Full Data" and full["depth"][0]["bid_price"] == "1402.30"
    assert full["depth"][4]["ask_price"] == "1402.80"
    oi = parser.process_data(packets.oi(snap("NSE_FNO", "53001", oi=77)))
    assert oi == {"type": "OI Data", "exchange_segment": 2, "security_id": 53001, "OI": 77}
